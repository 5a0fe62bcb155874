"""Sliding-window attention (Beltagy et al., 2020) and StreamingLLM (Xiao et al., 2023).

Both are softmax attention whose cache stops growing. A sliding window keeps the last w keys and
values; StreamingLLM also keeps the first n_sink tokens forever ("attention sinks"), which absorb
the attention mass that softmax must put somewhere once the early tokens would otherwise be evicted.

    sliding window:  token t sees s with t - s < w                 cache: min(T, w) tokens
    StreamingLLM:    token t sees s with s < n_sink or t - s < w   cache: min(T, n_sink + w) tokens

The cache is a tensor that grows until its bound and then keeps its size (oldest window token out,
newest in). Neither model uses positions here: StreamingLLM's point is re-indexing positions inside
the cache for RoPE, which changes no state shape, so both are shown without positional encoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from archclass.reference import ReferenceSpec, attention_heads
from archclass.reference.attention import Attention


class SlidingWindowAttention(Attention):
    def __init__(self, d_model: int, n_heads: int = 2, window: int = 4) -> None:
        super().__init__(d_model, n_heads)
        self.window = window

    def visible(self, T: int, device: torch.device) -> Tensor:
        gap = torch.arange(T, device=device)[:, None] - torch.arange(T, device=device)[None, :]
        return (gap >= 0) & (gap < self.window)

    def trim(self, cache: Tensor) -> Tensor:
        return cache[:, :, -self.window :]


class StreamingLLM(Attention):
    def __init__(self, d_model: int, n_heads: int = 2, window: int = 4, n_sink: int = 2) -> None:
        super().__init__(d_model, n_heads)
        self.window, self.n_sink = window, n_sink

    def visible(self, T: int, device: torch.device) -> Tensor:
        pos = torch.arange(T, device=device)
        gap = pos[:, None] - pos[None, :]
        return (gap >= 0) & ((gap < self.window) | (pos[None, :] < self.n_sink))

    def trim(self, cache: Tensor) -> Tensor:
        # The sinks are the first n_sink slots; everything after them is the rolling window.
        if cache.shape[2] <= self.n_sink + self.window:
            return cache
        return torch.cat([cache[:, :, : self.n_sink], cache[:, :, -self.window :]], dim=2)


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
