"""The information-theoretic recall bound for a state of fixed size.

Setting. A model reads K key-value pairs, then is asked for the value of each key. The values
v_1..v_K are independent and uniform over a vocabulary of V symbols, and independent of the keys.
After reading, everything the model retains is its state S: n scalars of p bits each, so S takes at
most 2^(n p) values and H(S) <= n p. Each answer is a function of (S, key), hence of (S, K) where K is
the tuple of keys.

Claim. If the mean accuracy over the K queries is A, then

    K (A log2 V - 1) <= n p,     i.e.   K <= n p / (A log2 V - 1)   whenever A log2 V > 1.

Proof. The values are independent of the keys, so H(v_1..v_K | K) = K log2 V. Since S is the only
path from the values to the answers,

    H(v_1..v_K | S, K) >= H(v_1..v_K | K) - H(S | K) >= K log2 V - n p.

By the chain rule and since conditioning reduces entropy, H(v_1..v_K | S, K) <= sum_i H(v_i | S, K).
Fano's inequality for the estimate of v_i from (S, K), with error probability P_i = 1 - A_i, gives

    H(v_i | S, K) <= 1 + P_i log2 V     (a binary-entropy term of at most one bit, plus P_i log2 (V-1)).

Summing over i: K log2 V - n p <= K + (K - sum_i A_i) log2 V = K + K (1 - A) log2 V, which rearranges
to K (A log2 V - 1) <= n p.

Conditioning on the keys is what makes the bound correct: each answer is a function of the state and
the key asked about, so an argument that drops the key from the conditioning bounds the wrong
quantity. archclass proves its own bound here rather than relying on another's proof. The
peer-reviewed anchors for the same phenomenon are Arora et al. 2024 (arXiv:2402.18668, Thm 3.1: any
recurrent model solving multi-query associative recall needs Omega(N) bits of state) and Jelassi et
al. 2024 (arXiv:2402.01032: fixed-state models cannot copy long strings).

Why efficiency matters. With p fixed the bound holds for any per-step work. It is the fixed precision
that E guarantees: with unbounded per-step work a constant number of unbounded-precision scalars can
hold unbounded information (Siegelmann and Sontag), which is why such RNNs sit on the C-R edge.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

FORMULA = "K <= n*p / (A*log2(V) - 1)"


class BoundError(ValueError):
    """Arguments for which the bound is undefined; the message says which and why."""


@dataclass(frozen=True)
class RecallBound:
    state_scalars: float
    bits_per_scalar: float
    vocab: int
    accuracy: float
    max_pairs: float

    @property
    def state_bits(self) -> float:
        return self.state_scalars * self.bits_per_scalar

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "state_bits": self.state_bits, "formula": FORMULA}


def recall_bound(state_scalars: float, bits_per_scalar: float, vocab: int, accuracy: float) -> RecallBound:
    """The largest number of pairs K recallable at mean accuracy A from n scalars of p bits."""
    if state_scalars < 0 or not math.isfinite(state_scalars):
        raise BoundError(f"state size must be a finite number of scalars >= 0, got {state_scalars}")
    if bits_per_scalar <= 0 or not math.isfinite(bits_per_scalar):
        raise BoundError(f"bits per scalar must be positive, got {bits_per_scalar}")
    if vocab < 2:
        raise BoundError(f"the vocabulary needs at least 2 values, got {vocab}")
    if not 0 < accuracy <= 1:
        raise BoundError(f"accuracy must be in (0, 1], got {accuracy}")
    denominator = accuracy * math.log2(vocab) - 1
    if denominator <= 0:
        raise BoundError(
            f"the bound needs accuracy > 1/log2(V) = {1 / math.log2(vocab):.4g} for V={vocab}; "
            f"below that, Fano's inequality allows any number of pairs"
        )
    max_pairs = state_scalars * bits_per_scalar / denominator
    return RecallBound(state_scalars, bits_per_scalar, vocab, accuracy, max_pairs)
