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


def generate(config: MQARConfig, count: int, seed: int, device: str | torch.device = "cpu") -> MQARBatch:
    """`count` sequences, a pure function of (config, count, seed); built on `device` in one pass."""
    generator = torch.Generator(device=device).manual_seed(seed)
    K, L, V, F = config.pairs, config.seq_len, config.vocab, config.filler

    def uniform(*shape: int) -> Tensor:
        return torch.rand(*shape, generator=generator, device=device)

    keys = torch.argsort(uniform(count, V), dim=1)[:, :K] + F
    values = torch.randint(0, V, (count, K), generator=generator, device=device) + F + V
    inputs = torch.randint(0, F, (count, L), generator=generator, device=device)
    inputs[:, 0 : 2 * K : 2] = keys
    inputs[:, 1 : 2 * K : 2] = values

    # Query slots in the region after the pairs; a query occupies one position and its answer is the
    # next-token prediction at that position (so the last position, with nothing after it, is never a
    # slot). K slots per row are drawn without replacement with power-law weights over the gap, by the
    # exponential-clock method (Efraimidis and Spirakis, 2006): the K smallest Exp(1)/weight win,
    # which has the distribution of K successive weighted draws and needs no loop over rows.
    region = L - 2 * K
    weights = (torch.arange(region - 1, device=device, dtype=torch.float64) + 1) ** (config.power_a - 1)
    clocks = -torch.log(uniform(count, region - 1).double().clamp_min(1e-300)) / weights
    chosen = torch.topk(clocks, K, dim=1, largest=False).indices
    positions = 2 * K + torch.sort(chosen, dim=1).values
    order = torch.argsort(uniform(count, K), dim=1)  # which pair each query slot asks about
    rows = torch.arange(count, device=device)[:, None]
    inputs[rows, positions] = keys.gather(1, order)
    targets = torch.full((count, L), IGNORE, dtype=torch.long, device=device)
    targets[rows, positions] = values.gather(1, order)
    distances = torch.full((count, L), -1, dtype=torch.long, device=device)
    distances[rows, positions] = positions - 2 * order
    return MQARBatch(inputs, targets, distances)


def mixed_batch(configs: list[MQARConfig], count: int, seed: int, device: str | torch.device = "cpu") -> MQARBatch:
    """A batch drawing each sequence's K from `configs` in turn (all must share seq_len)."""
    lengths = {c.seq_len for c in configs}
    if len(lengths) != 1:
        raise ValueError("configs in one batch must share seq_len")
    parts = [
        generate(c, count // len(configs) + (i < count % len(configs)), seed * 1009 + i, device)
        for i, c in enumerate(configs)
    ]
    return MQARBatch(
        torch.cat([p.inputs for p in parts]),
        torch.cat([p.targets for p in parts]),
        torch.cat([p.distances for p in parts]),
    )
