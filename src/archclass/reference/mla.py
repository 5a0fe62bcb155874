"""Multi-head latent attention (MLA, DeepSeek-V2, DeepSeek-AI 2024).

Instead of per-head keys and values, each token is cached as one compressed latent c_t = W_dkv x_t of
size d_latent, plus one small key k^R_t of size d_rope shared by all heads that carries the rotary
position (RoPE cannot be folded into the up-projections, so it is "decoupled" from the latent):

    k_{t,h} = [W_uk,h c_t ; RoPE(k^R_t)],   v_{t,h} = W_uv,h c_t,   q_{t,h} = [W_q,h x_t ; RoPE(W_qr,h x_t)]
    y_t = sum_h W_o,h softmax_s(q_{t,h} . k_{s,h} / sqrt(d_head + d_rope)) v_{s,h}

The cache holds (d_latent + d_rope) * T scalars, whatever the number of heads. The parallel form
up-projects the latents into keys and values; the step form uses the inference trick of the paper and
absorbs W_uk into the query and W_uv into the output, so it attends in latent space and never
materialises per-head keys for the whole cache. Each token's latent and rotary key sit side by side in
one cache row of d_latent + d_rope (the layout of DeepSeek's FlashMLA), so the absorbed query scores
whole rows and the values are their first d_latent columns: one pass over the cache does both (a fused
split-KV kernel on CUDA, see _latent_decode). The cache is kept in a buffer with spare slots and a
length, so a step writes one slot and copies none of it (see _ops.reserve). The step is written for
few kernels, because at batch 1 its fixed part, not its cache, decides its time (20 kernels took 100 us
on the H200 at T = 1,024, against a 24 us floor): one input product; RoPE's cos and sin read from a
table of positions (as deployed models keep one) and applied in three kernels; the cache row written
straight into its slot; the two parts of the absorbed query handed to the kernel apart, not joined.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from archclass.reference import ReferenceSpec, attention_heads
from archclass.reference._latent_decode import latent_attention
from archclass.reference._ops import attend, into_buffer, reserve, room_for


def frequencies(dim: int, device: torch.device, work: torch.dtype, base: float = 10000.0) -> Tensor:
    """RoPE's frequencies base^(-2i/dim), each twice (for the pairs (x_i, x_{i+dim/2})), in `work`."""
    return (base ** (-torch.arange(dim // 2, device=device, dtype=work) / (dim // 2))).repeat(2)


def rotation(pos: Tensor, dim: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """cos of the RoPE angles pos * frequency, (len(pos), dim), and their sin with the first half negated
    (rope's sign). The angles are computed in at least float32 so bfloat16 positions stay exact."""
    work = torch.promote_types(dtype, torch.float32)
    angle = pos.to(work)[:, None] * frequencies(dim, pos.device, work)
    sin = angle.sin()
    return angle.cos().to(dtype), torch.cat([-sin[:, : dim // 2], sin[:, dim // 2 :]], dim=-1).to(dtype)


def rope(x: Tensor, cos: Tensor, signed_sin: Tensor) -> Tensor:
    """Rotate pairs (x_i, x_{i+d/2}) of x (..., d) by the angles: x cos + (x_{i+d/2}, x_i) * signed sin."""
    return torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), signed_sin)


class MultiHeadLatentAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int = 2, d_latent: int = 8, d_rope: int = 4) -> None:
        super().__init__()
        if d_model % n_heads or d_rope % 2:
            raise ValueError(f"need n_heads | d_model and an even d_rope, got {n_heads}, {d_model}, {d_rope}")
        self.n_heads, self.d_head, self.d_latent, self.d_rope = n_heads, d_model // n_heads, d_latent, d_rope
        self.d_model = d_model
        self.up_k = nn.Linear(d_latent, d_model, bias=False)  # W_uk, all heads stacked
        self.up_v = nn.Linear(d_latent, d_model, bias=False)  # W_uv
        # W_q, W_qr (the rotary queries), W_kr (the shared rotary key) and W_dkv (the latent the cache
        # stores) as one product, the rotary parts side by side so they are rotated together.
        self.project = nn.Linear(d_model, d_model + n_heads * d_rope + d_rope + d_latent, bias=False)
        # cos and signed sin by position for the step, grown like a cache buffer (not a registered buffer:
        # a function of position alone, not a weight or a state)
        self._rotations: dict[tuple[torch.device, torch.dtype], tuple[Tensor, Tensor]] = {}
        self.out = nn.Linear(d_model, d_model, bias=False)

    def _split(self, x: Tensor, cos: Tensor, sin: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(batch, T, d_model) -> queries (batch, T, heads, d_head), rotated rotary queries (batch, T,
        heads, d_rope) and cache rows [c ; RoPE(k^R)] (batch, T, d_latent + d_rope)."""
        heads, r = self.n_heads, self.d_rope
        q, rotary, c = self.project(x).split([self.d_model, (heads + 1) * r, self.d_latent], dim=-1)
        # The queries' and the key's rotary parts share their angles: rotated together, in one pass.
        rotated = rope(rotary.unflatten(-1, (heads + 1, r)), cos.unsqueeze(-2), sin.unsqueeze(-2))
        q_nope = q.unflatten(-1, (heads, self.d_head))
        return q_nope, rotated[..., :-1, :], torch.cat([c, rotated[..., -1, :]], dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        return self.prefill(x)[0]

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Any]]:
        q, q_r, rows = self._split(x, *rotation(torch.arange(x.shape[1], device=x.device), self.d_rope, x.dtype))
        c, k_r = rows.split([self.d_latent, self.d_rope], dim=-1)
        heads = self.n_heads
        # Each head's key is [W_uk,h c_s ; k^R_s], so q . k is the sum of the two products the step
        # computes; one attention over the concatenation lets the fused kernel run it at 131k tokens.
        k = torch.cat(
            [self.up_k(c).unflatten(-1, (heads, self.d_head)), k_r.unsqueeze(-2).expand(-1, -1, heads, -1)], -1
        )
        v = self.up_v(c).unflatten(-1, (heads, self.d_head))
        q_full, k, v = (t.transpose(1, 2) for t in (torch.cat([q, q_r], -1), k, v))  # (batch, heads, T, .)
        y = attend(q_full, k, v, causal=True)
        return self.out(y.transpose(1, 2).flatten(-2)), {"rows": into_buffer(rows, 1), "length": x.shape[1]}

    def prefill_state(self, x: Tensor) -> dict[str, Any]:
        """prefill's state without its outputs: a cache row is a per-token projection and rotation."""
        _, _, rows = self._split(x, *rotation(torch.arange(x.shape[1], device=x.device), self.d_rope, x.dtype))
        return {"rows": into_buffer(rows, 1), "length": x.shape[1]}

    def init_state(self, batch: int) -> dict[str, Any]:
        rows = self.project.weight.new_zeros(batch, 0, self.d_latent + self.d_rope)
        return {"rows": into_buffer(rows, 1), "length": 0}

    def _rotation_at(self, n: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """cos and signed sin at position n, (1, d_rope): rows of the table, so no kernel computes them."""
        table = self._rotations.get((device, dtype))
        if table is None or table[0].shape[0] <= n:
            table = rotation(torch.arange(room_for(n + 1), device=device), self.d_rope, dtype)
            self._rotations[(device, dtype)] = table
        return table[0][n : n + 1], table[1][n : n + 1]

    def step(self, x: Tensor, state: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
        n = state["length"]  # this token's position
        heads, r = self.n_heads, self.d_rope
        q, rotary, c = self.project(x).split([self.d_model, (heads + 1) * r, self.d_latent], dim=-1)
        rotated = rope(rotary.unflatten(-1, (heads + 1, r)), *self._rotation_at(n, x.device, x.dtype))
        # The cache row [c ; RoPE(k^R)] goes straight into slot n of a buffer with spare slots; the first
        # n + 1 slots are this token's cache.
        buffer = reserve(state["rows"], n, 1)
        torch.cat([c, rotated[:, -1]], dim=-1, out=buffer[:, n])
        # Absorb W_uk into the query: q_h . (W_uk,h c_s) = (W_uk,h^T q_h) . c_s; with the rotary query
        # beside it, the query scores whole cache rows, whose latents are the values.
        w_uk = self.up_k.weight.unflatten(0, (heads, self.d_head))  # (heads, d_head, d_latent)
        w_uv = self.up_v.weight.unflatten(0, (heads, self.d_head))
        q_latent = torch.einsum("bhd,hdc->bhc", q.unflatten(-1, (heads, self.d_head)), w_uk)
        scale = (self.d_head + self.d_rope) ** -0.5
        mixed = latent_attention(q_latent, buffer[:, : n + 1], self.d_latent, scale, rest=rotated[:, :-1])
        y = torch.einsum("bhc,hdc->bhd", mixed, w_uv)  # W_uv after the sum
        return self.out(y.flatten(-2)), {"rows": buffer, "length": n + 1}


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
