"""Multi-head latent attention (MLA, DeepSeek-V2, DeepSeek-AI 2024).

Instead of per-head keys and values, each token is cached as one compressed latent c_t = W_dkv x_t of
size d_latent, plus one small key k^R_t of size d_rope shared by all heads that carries the rotary
position (RoPE cannot be folded into the up-projections, so it is "decoupled" from the latent):

    k_{t,h} = [W_uk,h c_t ; RoPE(k^R_t)],   v_{t,h} = W_uv,h c_t,   q_{t,h} = [W_q,h x_t ; RoPE(W_qr,h x_t)]
    y_t = sum_h W_o,h softmax_s(q_{t,h} . k_{s,h} / sqrt(d_head + d_rope)) v_{s,h}

The cache holds (d_latent + d_rope) * T scalars, whatever the number of heads. The parallel form
up-projects the latents into keys and values; the step form uses the inference trick of the paper and
absorbs W_uk into the query and W_uv into the output, so it attends in latent space and never
materialises per-head keys for the whole cache. The cache is kept in buffers with spare slots and a
length, so a step writes one slot and copies none of it (see _ops.append).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from archclass.reference import ReferenceSpec, attention_heads
from archclass.reference._ops import append, attend, into_buffer, mix_values


def rope(x: Tensor, pos: Tensor, base: float = 10000.0) -> Tensor:
    """Rotate pairs (x_i, x_{i+d/2}) of x (..., T, d) by angle pos * base^(-2i/d)."""
    half = x.shape[-1] // 2
    # Angles in at least float32 so bfloat16 positions stay exact; both forms call this one function.
    dtype = torch.promote_types(x.dtype, torch.float32)
    freqs = base ** (-torch.arange(half, device=x.device, dtype=dtype) / half)
    angle = pos.to(dtype)[:, None] * freqs
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class MultiHeadLatentAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int = 2, d_latent: int = 8, d_rope: int = 4) -> None:
        super().__init__()
        if d_model % n_heads or d_rope % 2:
            raise ValueError(f"need n_heads | d_model and an even d_rope, got {n_heads}, {d_model}, {d_rope}")
        self.n_heads, self.d_head, self.d_latent, self.d_rope = n_heads, d_model // n_heads, d_latent, d_rope
        self.down_kv = nn.Linear(d_model, d_latent, bias=False)  # W_dkv: what the cache stores
        self.key_rope = nn.Linear(d_model, d_rope, bias=False)  # W_kr: the shared positional key
        self.up_k = nn.Linear(d_latent, d_model, bias=False)  # W_uk, all heads stacked
        self.up_v = nn.Linear(d_latent, d_model, bias=False)  # W_uv
        self.q = nn.Linear(d_model, d_model, bias=False)
        self.q_rope = nn.Linear(d_model, n_heads * d_rope, bias=False)
        self.out = nn.Linear(d_model, d_model, bias=False)

    def _heads(self, t: Tensor) -> Tensor:  # (batch, T, heads * d) -> (batch, heads, T, d)
        return t.unflatten(-1, (self.n_heads, -1)).transpose(1, 2)

    def _queries(self, x: Tensor, pos: Tensor) -> tuple[Tensor, Tensor]:
        return self._heads(self.q(x)), rope(self._heads(self.q_rope(x)), pos)

    def _cache(self, x: Tensor, pos: Tensor) -> tuple[Tensor, Tensor]:
        return self.down_kv(x), rope(self.key_rope(x), pos)  # (batch, T, d_latent), (batch, T, d_rope)

    def forward(self, x: Tensor) -> Tensor:
        return self.prefill(x)[0]

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Any]]:
        pos = torch.arange(x.shape[1], device=x.device)
        q, q_r = self._queries(x, pos)
        c, k_r = self._cache(x, pos)
        # Each head's key is [W_uk,h c_s ; k^R_s], so q . k is the sum of the two products the step
        # computes; one attention over the concatenation lets the fused kernel run it at 131k tokens.
        k = torch.cat([self._heads(self.up_k(c)), k_r.unsqueeze(1).expand(-1, self.n_heads, -1, -1)], dim=-1)
        y = attend(torch.cat([q, q_r], dim=-1), k, self._heads(self.up_v(c)), causal=True)
        return self.out(y.transpose(1, 2).flatten(-2)), self._state(c, k_r)

    def prefill_state(self, x: Tensor) -> dict[str, Any]:
        """prefill's state without its outputs: the latents and rotary keys are per-token projections."""
        return self._state(*self._cache(x, torch.arange(x.shape[1], device=x.device)))

    def _state(self, c: Tensor, k_r: Tensor) -> dict[str, Any]:
        return {"c": into_buffer(c, 1), "k_rope": into_buffer(k_r, 1), "length": c.shape[1]}

    def init_state(self, batch: int) -> dict[str, Any]:
        p = self.down_kv.weight
        c, k_r = p.new_zeros(batch, 0, self.d_latent), p.new_zeros(batch, 0, self.d_rope)
        return {"c": into_buffer(c, 1), "k_rope": into_buffer(k_r, 1), "length": 0}

    def step(self, x: Tensor, state: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
        n = state["length"]  # this token's position
        pos = torch.arange(n, n + 1, device=x.device)
        q, q_r = (t.squeeze(2) for t in self._queries(x.unsqueeze(1), pos))  # (batch, heads, d)
        c_t, k_r_t = self._cache(x.unsqueeze(1), pos)
        # Written into slot n of buffers with spare slots; the first n + 1 slots are this token's cache.
        buffers = {"c": append(state["c"], n, c_t, 1), "k_rope": append(state["k_rope"], n, k_r_t, 1)}
        c, k_r = buffers["c"][:, : n + 1], buffers["k_rope"][:, : n + 1]
        # Absorb W_uk into the query: q_h . (W_uk,h c_s) = (W_uk,h^T q_h) . c_s.
        w_uk = self.up_k.weight.unflatten(0, (self.n_heads, self.d_head))  # (heads, d_head, d_latent)
        w_uv = self.up_v.weight.unflatten(0, (self.n_heads, self.d_head))
        q_latent = torch.einsum("bhd,hdc->bhc", q, w_uk)
        scores = torch.einsum("bhc,btc->bht", q_latent, c) + torch.einsum("bhr,btr->bht", q_r, k_r)
        p = (scores / math.sqrt(self.d_head + self.d_rope)).softmax(-1)
        y = torch.einsum("bhc,hdc->bhd", mix_values(p, c), w_uv)  # W_uv after the sum
        return self.out(y.flatten(-2)), {**buffers, "length": n + 1}


def _latent_cache(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    return (kwargs.get("d_latent", 8) + kwargs.get("d_rope", 4)) * T


REFERENCES = (
    ReferenceSpec(
        name="mla",
        arch_id="mla",
        factory=MultiHeadLatentAttention,
        kwargs={"n_heads": 4, "d_latent": 32, "d_rope": 8},
        test_kwargs={"n_heads": 2, "d_latent": 8, "d_rope": 4},
        at_size=lambda size: {"n_heads": attention_heads(size), "d_latent": size.kv_latent, "d_rope": size.rope_dim},
        state_scalars=_latent_cache,
        registry_symbols=lambda d, kw: {"d": d, "c": kw["d_latent"], "r": kw["d_rope"], "h": kw.get("n_heads", 2)},
    ),
)
