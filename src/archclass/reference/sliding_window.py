"""Sliding-window attention (Beltagy et al., 2020) and StreamingLLM (Xiao et al., 2023).

Both are softmax attention whose cache stops growing. A sliding window keeps the last w keys and
values; StreamingLLM also keeps the first n_sink tokens forever ("attention sinks"), which absorb
the attention mass that softmax must put somewhere once the early tokens would otherwise be evicted.

    sliding window:  token t sees s with t - s < w                 cache: min(T, w) tokens
    StreamingLLM:    token t sees s with s < n_sink or t - s < w   cache: min(T, n_sink + w) tokens

Neither model uses positions here: StreamingLLM's point is re-indexing positions inside the cache for
RoPE, which changes no state shape, so both are shown without positional encoding.

The cache is a ring: a buffer of n_sink + w slots and a length. Token t is written into slot t until
the buffer is full, and after that into the slot of the oldest window token, which it replaces; the
sinks' slots are never overwritten. A step writes one slot and reads the filled ones (a view), copying
nothing; attention without positions does not depend on the order of its keys, so the ring keeps none.
The probe counts the filled slots, min(T, n_sink + w), by the length (capped at the buffer's size).
Unlike a growing cache, a full ring overwrites a slot that the state it was given still reads: step a
copy of a state that is still needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from archclass.reference import ReferenceSpec, attention_heads
from archclass.reference._ops import attend
from archclass.reference.attention import Attention


class WindowedAttention(Attention):
    """Attention whose cache keeps the first n_sink tokens and the last `window`, in a ring buffer."""

    def __init__(self, d_model: int, n_heads: int, window: int, n_sink: int) -> None:
        super().__init__(d_model, n_heads)
        self.window, self.n_sink = window, n_sink

    def slot(self, t: int) -> int:
        """The slot token t is written into: its own until the buffer is full, then the ring's."""
        return t if t < self.n_sink else self.n_sink + (t - self.n_sink) % self.window

    def sees(self, queries: Tensor, keys: Tensor) -> Tensor:
        """Which of the key positions each query position attends to: an earlier one in its window,
        or a sink."""
        gap = queries[:, None] - keys[None, :]
        return (gap >= 0) & ((gap < self.window) | (keys[None, :] < self.n_sink))

    def attend_all(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The parallel form, a band of queries at a time: each band attends to the sinks and to the
        keys from one window before it, so memory and work grow as T * window, not T^2 (a full T x T
        mask at 131k tokens does not fit a GPU)."""
        q, k, v = self.project(x)
        T, band = x.shape[1], max(self.window, 256)
        outputs = []
        for start in range(0, T, band):
            end = min(start + band, T)
            first = max(0, start - self.window + 1)
            keys = torch.cat([torch.arange(min(self.n_sink, first)), torch.arange(first, end)]).to(x.device)
            queries = torch.arange(start, end, device=x.device)
            outputs.append(attend(q[:, :, start:end], k[:, :, keys], v[:, :, keys], self.sees(queries, keys)))
        y = torch.cat(outputs, dim=2)
        return self.out(y.transpose(1, 2).flatten(-2)), k, v

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Any]]:
        y, k, v = self.attend_all(x)
        T = x.shape[1]
        kept = [*range(min(T, self.n_sink)), *range(max(self.n_sink, T - self.window), T)]
        slots = [self.slot(t) for t in kept]
        K, V = self._ring(k), self._ring(v)
        K[:, :, slots], V[:, :, slots] = k[:, :, kept], v[:, :, kept]
        return y, {"k": K, "v": V, "length": T}

    def _ring(self, like: Tensor) -> Tensor:
        return like.new_zeros(like.shape[0], self.n_kv_heads, self.n_sink + self.window, self.d_head)

    def init_state(self, batch: int) -> dict[str, Any]:
        ring = self._ring(self.qkv.weight.new_zeros(batch))
        return {"k": ring, "v": ring.clone(), "length": 0}

    def step(self, x: Tensor, state: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
        q, k, v = self.project(x.unsqueeze(1))
        n = state["length"]
        K, V = state["k"], state["v"]
        K.narrow(2, self.slot(n), 1).copy_(k)
        V.narrow(2, self.slot(n), 1).copy_(v)
        filled = min(n + 1, K.shape[2])
        y = attend(q, K[:, :, :filled], V[:, :, :filled])
        return self.out(y.transpose(1, 2).flatten(-2)).squeeze(1), {"k": K, "v": V, "length": n + 1}


class SlidingWindowAttention(WindowedAttention):
    def __init__(self, d_model: int, n_heads: int = 2, window: int = 4) -> None:
        super().__init__(d_model, n_heads, window, n_sink=0)


class StreamingLLM(WindowedAttention):
    def __init__(self, d_model: int, n_heads: int = 2, window: int = 4, n_sink: int = 2) -> None:
        super().__init__(d_model, n_heads, window, n_sink)


def _window_cache(T: int, d_model: int, kwargs: Mapping[str, Any], sinks: bool) -> int:
    heads = kwargs.get("n_heads", 2)
    kept = kwargs.get("window", 4) + (kwargs.get("n_sink", 2) if sinks else 0)
    return 2 * heads * (d_model // heads) * min(T, kept)


REFERENCES = (
    ReferenceSpec(
        name="sliding-window-attention",
        size_knob="window",
        arch_id="sliding-window-attention",
        factory=SlidingWindowAttention,
        kwargs={"n_heads": 4, "window": 32},
        test_kwargs={"n_heads": 2, "window": 4},
        at_size=lambda size: {"n_heads": attention_heads(size), "window": size.window},
        state_scalars=lambda T, d, kw: _window_cache(T, d, kw, sinks=False),
        registry_symbols=lambda d, kw: {"d": d, "w": kw["window"]},
    ),
    ReferenceSpec(
        name="streamingllm",
        size_knob="window",
        arch_id="streamingllm",
        factory=StreamingLLM,
        kwargs={"n_heads": 4, "window": 32, "n_sink": 4},
        test_kwargs={"n_heads": 2, "window": 4, "n_sink": 2},
        at_size=lambda size: {"n_heads": attention_heads(size), "window": size.window - 4, "n_sink": 4},
        state_scalars=lambda T, d, kw: _window_cache(T, d, kw, sinks=True),
        registry_symbols=lambda d, kw: {"d": d, "w": kw["window"], "s": kw["n_sink"]},
    ),
)
