"""Softmax attention with a KV cache (Vaswani et al., 2017), and its shared-KV variants.

Multi-query attention (MQA, Shazeer 2019) lets every query head read one key/value head; grouped-query
attention (GQA, Ainslie et al., 2023) lets groups of query heads share one of n_kv_heads key/value heads.
Only the cache changes: it holds n_kv_heads heads instead of n_heads.

    parallel:  y = softmax(q k^T / sqrt(d_head) + causal mask) v            (a T x T product)
    recurrent: K <- [K; k_t],  V <- [V; v_t],  y_t = softmax(q_t K^T / sqrt(d_head)) V

The cache grows by one key and one value per kv head per token: 2 * n_kv_heads * d_head * T scalars.
It is kept in buffers with spare slots and a length, so appending writes one slot (see _ops.append).
The other attention references (sliding_window.py, h2o.py, ...) subclass `Attention` and change which
tokens a query sees (`visible`) and which the cache keeps (`trim`, or their own step).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from archclass.reference import ReferenceSpec, attention_heads, kv_heads
from archclass.reference._ops import append, attend, into_buffer


class Attention(nn.Module):
    """Projections, masks and the parallel form shared by every softmax-attention reference; its step
    builds a new cache by concatenation, the form for caches that `trim` cuts back every step."""

    def __init__(self, d_model: int, n_heads: int = 2, n_kv_heads: int | None = None) -> None:
        super().__init__()
        n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
        if d_model % n_heads or n_heads % n_kv_heads:
            raise ValueError(f"need n_kv_heads | n_heads | d_model, got {n_kv_heads}, {n_heads}, {d_model}")
        self.d_model, self.n_heads, self.n_kv_heads = d_model, n_heads, n_kv_heads
        self.d_head = d_model // n_heads
        # Queries, keys and values come out of one product: a decode step then reads the three weight
        # matrices in one kernel instead of two.
        self.qkv = nn.Linear(d_model, (n_heads + 2 * n_kv_heads) * self.d_head, bias=False)
        self.out = nn.Linear(n_heads * self.d_head, d_model, bias=False)

    def project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(batch, T, d_model) -> q (batch, n_heads, T, d_head), k and v (batch, n_kv_heads, T, d_head)."""
        q, k, v = (
            self.qkv(x).unflatten(-1, (-1, self.d_head)).split([self.n_heads, self.n_kv_heads, self.n_kv_heads], -2)
        )
        return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)

    def visible(self, T: int, device: torch.device) -> Tensor | None:
        """Which keys (columns) each query (row) attends to; None: every earlier token (causal)."""
        return None

    def trim(self, cache: Tensor) -> Tensor:
        """The part of a (batch, heads, T, d_head) cache that is kept: here all of it."""
        return cache

    def forward(self, x: Tensor) -> Tensor:
        return self.prefill(x)[0]

    def attend_all(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The parallel form: outputs (batch, T, d_model), and every key and value."""
        q, k, v = self.project(x)
        y = attend(q, k, v, self.visible(x.shape[1], x.device), causal=True)
        return self.out(y.transpose(1, 2).flatten(-2)), k, v

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Any]]:
        y, k, v = self.attend_all(x)
        return y, {"k": self.trim(k), "v": self.trim(v)}

    def init_state(self, batch: int) -> dict[str, Any]:
        empty = self.qkv.weight.new_zeros(batch, self.n_kv_heads, 0, self.d_head)
        return {"k": empty, "v": empty.clone()}

    def step(self, x: Tensor, state: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
        q, k, v = self.project(x.unsqueeze(1))  # a sequence of one token
        K, V = self.trim(torch.cat([state["k"], k], dim=2)), self.trim(torch.cat([state["v"], v], dim=2))
        y = attend(q, K, V)  # the cache holds exactly the tokens this query may see
        return self.out(y.transpose(1, 2).flatten(-2)).squeeze(1), {"k": K, "v": V}


class SoftmaxAttention(Attention):
    """Causal attention whose cache only grows: buffers with spare slots and a length. A step writes
    its key and value into slot `length` and attends to the first length + 1 slots (views), so it
    reads the cache once and copies none of it."""

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Any]]:
        y, k, v = self.attend_all(x)
        return y, {"k": into_buffer(k, 2), "v": into_buffer(v, 2), "length": x.shape[1]}

    def init_state(self, batch: int) -> dict[str, Any]:
        empty = self.qkv.weight.new_zeros(batch, self.n_kv_heads, 0, self.d_head)
        return {"k": into_buffer(empty, 2), "v": into_buffer(empty, 2), "length": 0}

    def step(self, x: Tensor, state: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
        q, k, v = self.project(x.unsqueeze(1))
        n = state["length"]
        K, V = append(state["k"], n, k, 2), append(state["v"], n, v, 2)
        y = attend(q, K[:, :, : n + 1], V[:, :, : n + 1])
        return self.out(y.transpose(1, 2).flatten(-2)).squeeze(1), {"k": K, "v": V, "length": n + 1}


def _kv_cache(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    heads = kwargs.get("n_heads", 2)
    kv_heads = kwargs.get("n_kv_heads") or heads
    return 2 * kv_heads * (d_model // heads) * T


REFERENCES = (
    ReferenceSpec(
        name="softmax-attention",
        arch_id="transformer",
        factory=SoftmaxAttention,
        kwargs={"n_heads": 4},
        test_kwargs={"n_heads": 2},
        at_size=lambda size: {"n_heads": attention_heads(size)},
        state_scalars=_kv_cache,
        registry_symbols=lambda d, kw: {"d": d},
    ),
    ReferenceSpec(
        name="gqa",
        arch_id="gqa",
        factory=SoftmaxAttention,
        kwargs={"n_heads": 4, "n_kv_heads": 2},
        test_kwargs={"n_heads": 4, "n_kv_heads": 2},  # GQA needs 1 < n_kv_heads < n_heads
        at_size=lambda size: {"n_heads": attention_heads(size), "n_kv_heads": kv_heads(size)},
        state_scalars=_kv_cache,
        registry_symbols=lambda d, kw: {
            "d": d,
            "g": kw.get("n_kv_heads") or kw.get("n_heads", 2),
            "dh": d / kw.get("n_heads", 2),
        },
    ),
    ReferenceSpec(
        name="mqa",
        arch_id="mqa",
        factory=SoftmaxAttention,
        kwargs={"n_heads": 4, "n_kv_heads": 1},
        test_kwargs={"n_heads": 2, "n_kv_heads": 1},
        at_size=lambda size: {"n_heads": attention_heads(size), "n_kv_heads": 1},
        state_scalars=_kv_cache,
        registry_symbols=lambda d, kw: {"d": d, "dh": d / kw.get("n_heads", 2)},
    ),
)
