"""Hand-written OSP modules whose state is not a plain dict of fresh tensors: caches that update in
place, dataclasses, preallocated buffers. Each knows its true state size, so a test can hold the probe
to it. The caches mimic transformers' Cache classes (a list of layers with keys and values) without
depending on transformers."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


class LayerCache:
    """One layer's keys and values, grown by concatenation and reassigned in place (DynamicLayer's way)."""

    def __init__(self) -> None:
        self.keys: Tensor | None = None
        self.values: Tensor | None = None

    def update(self, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        self.keys = key if self.keys is None else torch.cat([self.keys, key], dim=1)
        self.values = value if self.values is None else torch.cat([self.values, value], dim=1)
        return self.keys, self.values


class StandInCache:
    """A cache object holding a list of layer caches, updated in place by every step."""

    def __init__(self, n_layers: int) -> None:
        self.layers = [LayerCache() for _ in range(n_layers)]
        self.enabled = True  # a Python flag beside the tensors, not state


class InPlaceCacheAttention(nn.Module):
    """Attention over every earlier token whose cache object is mutated and returned by step.

    True state after T tokens: 2 * T * d per layer."""

    def __init__(self, d_model: int, n_layers: int = 2) -> None:
        super().__init__()
        self.d_model, self.n_layers = d_model, n_layers
        self.kv = nn.ModuleList(nn.Linear(d_model, 2 * d_model, bias=False) for _ in range(n_layers))

    def init_state(self, batch: int) -> StandInCache:
        return StandInCache(self.n_layers)

    def step(self, x: Tensor, cache: StandInCache) -> tuple[Tensor, StandInCache]:
        h = x
        for projection, layer in zip(self.kv, cache.layers, strict=True):
            k, v = projection(h).unsqueeze(1).chunk(2, dim=-1)
            keys, values = layer.update(k, v)
            weights = torch.softmax((keys @ h.unsqueeze(-1)).squeeze(-1), dim=-1)
            h = h + (weights.unsqueeze(-1) * values).sum(1)
        return h, cache

    def forward(self, x: Tensor) -> Tensor:
        h = x
        T = x.shape[1]
        future = torch.ones(T, T, dtype=torch.bool).triu(1)
        for projection in self.kv:
            k, v = projection(h).chunk(2, dim=-1)
            scores = (h @ k.transpose(1, 2)).masked_fill(future, float("-inf"))
            h = h + torch.softmax(scores, dim=-1) @ v
        return h


@dataclass
class RecurrentState:
    h: Tensor
    steps: int


class InPlaceDecay(nn.Module):
    """A decaying sum kept in a dataclass whose tensor is updated in place. True state: d."""

    def __init__(self, d_model: int, decay: float = 0.5) -> None:
        super().__init__()
        self.d_model, self.decay = d_model, decay
        self.proj = nn.Linear(d_model, d_model, bias=False)

    def init_state(self, batch: int) -> RecurrentState:
        return RecurrentState(self.proj.weight.new_zeros(batch, self.d_model), 0)

    def step(self, x: Tensor, state: RecurrentState) -> tuple[Tensor, RecurrentState]:
        state.h.mul_(self.decay).add_(self.proj(x))
        state.steps += 1
        return state.h.clone(), state

    def forward(self, x: Tensor) -> Tensor:
        T = x.shape[1]
        powers = self.decay ** torch.arange(T, dtype=x.dtype)
        weights = torch.tril(powers[:, None] / powers[None, :])
        return torch.einsum("ts,bsd->btd", weights, self.proj(x))


class PreallocatedBuffer:
    """Room for `capacity` tokens, written one slot a step; `length` says how many are filled."""

    def __init__(self, batch: int, capacity: int, d_model: int, counted: bool) -> None:
        self.data = torch.zeros(batch, capacity, d_model)
        if counted:
            self.length = 0


class StaticCacheMean(nn.Module):
    """A static cache: every input written into a preallocated buffer, the output the mean so far.

    True state after T tokens: T * d (the filled part), whatever the capacity. With counted=False
    nothing in the state says how much of the buffer is filled."""

    def __init__(self, d_model: int, capacity: int = 4096, counted: bool = True) -> None:
        super().__init__()
        self.d_model, self.capacity, self.counted = d_model, capacity, counted
        self.proj = nn.Linear(d_model, d_model, bias=False)

    def init_state(self, batch: int) -> PreallocatedBuffer:
        return PreallocatedBuffer(batch, self.capacity, self.d_model, self.counted)

    def step(self, x: Tensor, cache: PreallocatedBuffer) -> tuple[Tensor, PreallocatedBuffer]:
        # Without a counter the module finds the next free slot as old static caches did: the first
        # row that is still all zeros.
        filled = cache.length if self.counted else int((cache.data != 0).any(-1).any(0).sum())
        cache.data[:, filled] = x
        if self.counted:
            cache.length += 1
        return self.proj(cache.data[:, : filled + 1].mean(1)), cache

    def forward(self, x: Tensor) -> Tensor:
        counts = torch.arange(1, x.shape[1] + 1, dtype=x.dtype)[None, :, None]
        return self.proj(x.cumsum(1) / counts)


class CarryChain(nn.Module):
    """A constant state whose step does k more matrix products at positions t = 2^k - 1 (the carries
    of a binary counter, as a Fenwick tree merges): cost O(log T), but only at those positions. The
    extra products are multiplied by zero, so forward stays the plain decaying sum."""

    def __init__(self, d_model: int, busy: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.d_model, self.busy = d_model, busy
        self.w = nn.Linear(d_model, d_model, bias=False)

    def init_state(self, batch: int) -> dict:
        return {"h": self.w.weight.new_zeros(batch, self.d_model), "t": 0}

    def extra_products(self, t: int) -> int:
        """Trailing one-bits of t, or, with `busy` = (start, stop), 8 inside that range and none outside."""
        if self.busy is not None:
            return 8 if self.busy[0] <= t < self.busy[1] else 0
        return (~t & (t + 1)).bit_length() - 1

    def step(self, x: Tensor, state: dict) -> tuple[Tensor, dict]:
        h = 0.5 * state["h"] + self.w(x)
        for _ in range(self.extra_products(state["t"])):
            h = h + 0.0 * self.w(h)
        return h, {"h": h, "t": state["t"] + 1}

    def forward(self, x: Tensor) -> Tensor:
        h, out = x.new_zeros(x.shape[0], self.d_model), []
        for t in range(x.shape[1]):
            h = 0.5 * h + self.w(x[:, t])
            out.append(h)
        return torch.stack(out, 1)
