"""Multi-query associative recall (MQAR) data, in the style of Zoology (Arora et al., arXiv:2312.04927).

A sequence shows K key-value pairs, then asks for every key again at scattered positions; the model
must answer each query with the value that followed that key. Token ids are split into three disjoint
ranges, so filler can never be mistaken for a key or a value (Zoology's filler shares ids with real
tokens):

    [0, filler)                    filler tokens between queries
    [filler, filler + V)           keys
    [filler + V, filler + 2V)      values

Keys within a sequence are distinct; values are uniform over the V values, independent of the keys,
which is the setting of the recall bound. Query positions follow a power law over the query region,
as in Zoology, so both short and long pair-to-query distances occur.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor

IGNORE = -100


@dataclass(frozen=True)
class MQARConfig:
    vocab: int
    """V: the number of distinct values (and of keys)."""
    pairs: int
    """K: key-value pairs shown, each queried once."""
    seq_len: int
    """Total sequence length; at least 4K (2K for the pairs, room for K queries between filler)."""
    filler: int = 4
    """Size of the filler vocabulary, disjoint from keys and values."""
    power_a: float = 0.01
    """Power-law exponent for query gaps (Zoology's default)."""

    def __post_init__(self) -> None:
        if self.pairs < 1 or self.vocab < self.pairs:
            raise ValueError(f"need 1 <= pairs <= vocab (distinct keys), got pairs={self.pairs}, vocab={self.vocab}")
        if self.seq_len < 4 * self.pairs:
            raise ValueError(f"seq_len={self.seq_len} is shorter than 4 x pairs = {4 * self.pairs}")

    @property
    def total_vocab(self) -> int:
        return self.filler + 2 * self.vocab

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class MQARBatch:
    inputs: Tensor
    """(batch, seq_len) token ids."""
    targets: Tensor
    """(batch, seq_len): the value expected at each query position, IGNORE elsewhere."""
    distances: Tensor
    """(batch, seq_len): positions from the pair's key to the query, -1 where there is no query."""


def generate(config: MQARConfig, count: int, seed: int) -> MQARBatch:
    """`count` sequences, a pure function of (config, count, seed)."""
    generator = torch.Generator().manual_seed(seed)
    K, L, V, F = config.pairs, config.seq_len, config.vocab, config.filler
    keys = torch.argsort(torch.rand(count, V, generator=generator), dim=1)[:, :K] + F
    values = torch.randint(0, V, (count, K), generator=generator) + F + V
    inputs = torch.randint(0, F, (count, L), generator=generator)
    inputs[:, 0 : 2 * K : 2] = keys
    inputs[:, 1 : 2 * K : 2] = values
    targets = torch.full((count, L), IGNORE, dtype=torch.long)
    distances = torch.full((count, L), -1, dtype=torch.long)

    # Query slots in the region after the pairs; a query occupies one position and its answer is the
    # next-token prediction at that position. Slots are drawn with a power-law preference for gaps.
    region = L - 2 * K
    slots = torch.arange(region - 1)  # the last position has no next token to be scored against
    weights = (slots.double() + 1) ** (config.power_a - 1)
    weights = weights / weights.sum()
    for row in range(count):
        chosen = torch.multinomial(weights, K, replacement=False, generator=generator)
        positions = 2 * K + torch.sort(chosen).values
        order = torch.randperm(K, generator=generator)
        inputs[row, positions] = keys[row, order]
        targets[row, positions] = values[row, order]
        distances[row, positions] = positions - 2 * order
    return MQARBatch(inputs, targets, distances)


def mixed_batch(configs: list[MQARConfig], count: int, seed: int) -> MQARBatch:
    """A batch drawing each sequence's K from `configs` in turn (all must share seq_len)."""
    lengths = {c.seq_len for c in configs}
    if len(lengths) != 1:
        raise ValueError("configs in one batch must share seq_len")
    parts = [
        generate(c, count // len(configs) + (i < count % len(configs)), seed * 1009 + i) for i, c in enumerate(configs)
    ]
    return MQARBatch(
        torch.cat([p.inputs for p in parts]),
        torch.cat([p.targets for p in parts]),
        torch.cat([p.distances for p in parts]),
    )
