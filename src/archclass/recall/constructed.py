"""Recall capacity by construction: matrix memories whose weights are set by hand, measured on the
same MQAR data and with the same capacity rule as the trained models.

One head of linear attention (no decay, no normaliser) or DeltaNet, with the short convolution's job
done by hand: at a value token the key channel holds the embedding of the key just before it, the
value channel the value's embedding, and only value tokens write (the write gate, beta for DeltaNet,
is 1 there and 0 elsewhere). A query reads S^T k and answers the value whose embedding scores
highest. Keys and values get fixed random unit embeddings in R^d_k and R^d_v.

    linear attention:  S <- S + k v^T                  exact for orthogonal keys, so any d_k keys are
                                                      recalled when the vocabulary has <= d_k keys
    DeltaNet (beta=1): S <- S + k (v - S^T k)^T        overwrites what S held for k before writing

With V > d_k keys the K keys of a sequence cannot all be orthogonal; the interference between them is
what the measured curve shows. The state is the d_k x d_v matrix: n = d_k d_v scalars.
"""

from __future__ import annotations

import torch

from archclass.recall.mqar import IGNORE, MQARConfig, generate
from archclass.recall.train import TEST_SEED_BASE

RULES = ("linear-attention", "deltanet")


def _codes(count: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """count unit vectors in R^width: orthonormal when they fit (count <= width), else random."""
    random = torch.randn(max(count, width), width, generator=generator, dtype=torch.float64)
    if count <= width:
        return torch.linalg.qr(random.T)[0].T[:count]
    return torch.nn.functional.normalize(random[:count], dim=1)


def constructed_accuracy(
    rule: str, d_k: int, d_v: int, vocab: int, pairs: int, seq_len: int, sequences: int = 256, seed: int = 0
) -> float:
    """Fraction of queries answered right by the hand-built memory on `sequences` MQAR sequences."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, not {rule!r}")
    config = MQARConfig(vocab, pairs, seq_len)
    data = generate(config, sequences, TEST_SEED_BASE + 104_729 * seed + pairs, "cpu")
    generator = torch.Generator().manual_seed(seed)
    key_codes = _codes(vocab, d_k, generator)
    value_codes = _codes(vocab, d_v, generator)
    keys = data.inputs[:, 0 : 2 * pairs : 2] - config.filler  # (n, K) key ids
    values = data.inputs[:, 1 : 2 * pairs : 2] - config.filler - vocab  # (n, K) value ids
    k, v = key_codes[keys], value_codes[values]  # (n, K, d)
    S = torch.zeros(sequences, d_k, d_v, dtype=torch.float64)
    if rule == "linear-attention":
        S = k.transpose(1, 2) @ v
    else:
        for index in range(pairs):  # the delta rule is sequential in the pairs
            ki, vi = k[:, index], v[:, index]
            recalled = torch.einsum("nk,nkv->nv", ki, S)
            S = S + ki.unsqueeze(2) * (vi - recalled).unsqueeze(1)
    asked = data.targets != IGNORE
    rows = asked.nonzero()[:, 0]
    query_keys = data.inputs[asked] - config.filler
    read = torch.einsum("qk,qkv->qv", key_codes[query_keys], S[rows])
    answers = (read @ value_codes.T).argmax(1)
    return float((answers == data.targets[asked] - config.filler - vocab).double().mean())


def constructed_curve(
    rule: str, widths: list[int], vocab: int, pairs: list[int], seq_len: int, target: float, sequences: int = 256
) -> list[dict[str, object]]:
    """For each width d (d_k = d_v = d): accuracy at every K and the capacity (largest K with accuracy
    >= target), with the state n = d^2."""
    rows = []
    for width in widths:
        accuracy = {k: constructed_accuracy(rule, width, width, vocab, k, seq_len, sequences) for k in pairs}
        passing = [k for k, a in accuracy.items() if a >= target]
        rows.append(
            {
                "rule": rule,
                "d_k": width,
                "d_v": width,
                "state_scalars": width * width,
                "accuracy": {str(k): a for k, a in accuracy.items()},
                "capacity": max(passing, default=0),
            }
        )
    return rows
