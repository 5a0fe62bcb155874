"""Memorizing Transformers (Wu et al., 2022): local attention plus kNN retrieval from an external memory.

Each head attends locally to the last `window` tokens. Tokens that leave the window are not dropped:
their (key, value) pairs go into an external memory that grows with T. The query retrieves its top_k
keys from the memory (exact kNN by inner product here; the paper uses exact or approximate search),
attends over just those, and a learned per-head gate g = sigmoid(b) mixes the two results:

    y_t = g * softmax(q_t K_mem[topk]^T) V_mem[topk] + (1 - g) * softmax(q_t K_win^T) V_win

The state is the window cache (min(T, window) tokens) plus the memory (max(0, T - window) tokens):
2 * d_model * T scalars in all. Per step, retrieval reads the whole memory: work grows with T.

Window and memory are one cache of every past key and value, split by position: the memory is all but
the last `window` tokens. It lives in buffers with spare slots and a length, as softmax attention's
does, so a token leaving the window moves nowhere, and a step writes one slot and reads views.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from archclass.reference import ReferenceSpec, attention_heads
from archclass.reference._ops import append, into_buffer
from archclass.reference.attention import SoftmaxAttention


def _softmax_or_zero(scores: Tensor) -> Tensor:
    """Softmax over the last axis where -inf marks a missing entry; all-missing rows give zeros."""
    return scores.softmax(-1).nan_to_num(0.0)


class MemorizingAttention(SoftmaxAttention):
    def __init__(self, d_model: int, n_heads: int = 2, window: int = 4, top_k: int = 3) -> None:
        super().__init__(d_model, n_heads)
        self.window, self.top_k = window, top_k
        self.gate = nn.Parameter(torch.zeros(n_heads))  # b_g per head; sigmoid(0) = 1/2 at init

    def _mix(self, memory: Tensor, local: Tensor) -> Tensor:  # (batch, heads, T, d_head) each
        g = self.gate.sigmoid()[:, None, None]
        return self.out((g * memory + (1 - g) * local).transpose(1, 2).flatten(-2))

    def forward(self, x: Tensor) -> Tensor:
        return self.prefill(x)[0]

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Any]]:
        q, k, v = self.project(x)
        T = x.shape[1]
        pos = torch.arange(T, device=x.device)
        gap = pos[:, None] - pos[None, :]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.d_head)
        local = scores.masked_fill(~((gap >= 0) & (gap < self.window)), float("-inf")).softmax(-1) @ v
        # Memory: keys that have left the window (gap >= window); keep each query's top_k of them.
        in_memory = scores.masked_fill(gap < self.window, float("-inf"))
        top, index = in_memory.topk(min(self.top_k, T), dim=-1)  # -inf entries are missing memories
        p = _softmax_or_zero(top)
        memory = torch.einsum("bhtk,bhtkd->bhtd", p, _gather_rows(v, index))
        return self._mix(memory, local), {"k": into_buffer(k, 2), "v": into_buffer(v, 2), "length": T}

    def prefill_state(self, x: Tensor) -> dict[str, Any]:
        """prefill's state without its outputs, whose top-k over T x T scores does not fit at 131k tokens:
        the cache is every token's key and value."""
        _, k, v = self.project(x)
        return {"k": into_buffer(k, 2), "v": into_buffer(v, 2), "length": x.shape[1]}

    def step(self, x: Tensor, state: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
        q, k, v = self.project(x.unsqueeze(1))
        n = state["length"] + 1  # tokens read, this one included
        K, V = append(state["k"], n - 1, k, 2), append(state["v"], n - 1, v, 2)
        split = max(0, n - self.window)  # tokens before it are the memory, the rest the local window
        local = ((q @ K[:, :, split:n].transpose(-1, -2)) / math.sqrt(self.d_head)).softmax(-1) @ V[:, :, split:n]
        if split == 0:
            memory = torch.zeros_like(local)
        else:
            mem_k, mem_v = K[:, :, :split], V[:, :, :split]
            scores = (q @ mem_k.transpose(-1, -2)) / math.sqrt(self.d_head)  # exact kNN over all memory
            top, index = scores.topk(min(self.top_k, split), dim=-1)
            memory = torch.einsum("bhtk,bhtkd->bhtd", top.softmax(-1), _gather_rows(mem_v, index))
        y = self._mix(memory, local).squeeze(1)
        return y, {"k": K, "v": V, "length": n}


def _gather_rows(v: Tensor, index: Tensor) -> Tensor:
    """v (batch, heads, S, d), index (batch, heads, T, k) -> the indexed rows (batch, heads, T, k, d)."""
    b, h, t, k = index.shape
    rows = v.gather(2, index.flatten(2).unsqueeze(-1).expand(-1, -1, -1, v.shape[-1]))
    return rows.unflatten(2, (t, k))


def _all_pairs(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    heads = kwargs.get("n_heads", 2)
    return 2 * heads * (d_model // heads) * T  # window + memory: every past key and value


REFERENCES = (
    ReferenceSpec(
        name="memorizing-transformers",
        arch_id="memorizing-transformers",
        factory=MemorizingAttention,
        kwargs={"n_heads": 4, "window": 32, "top_k": 16},
        test_kwargs={"n_heads": 2, "window": 4, "top_k": 3},
        at_size=lambda size: {"n_heads": attention_heads(size), "window": 512, "top_k": 32},
        state_scalars=_all_pairs,
        registry_symbols=lambda d, kw: {"d": d, "k": kw["top_k"], "w": kw["window"]},
    ),
)
