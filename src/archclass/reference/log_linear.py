"""Log-linear attention (Guo et al., 2025): linear attention with a Fenwick tree of matrix states.

Linear attention folds the whole prefix into one d_k x d_v matrix. Log-linear attention instead splits
the prefix of query t into O(log t) buckets, the Fenwick-tree partition: the token itself (level 0)
and, for every set bit b of t, a run of 2^b earlier tokens (level b + 1), oldest and largest first.
Token s lies at level bit_length(t XOR s) of t's partition. Each bucket is one matrix state, and the
query weighs levels with its own data-dependent lambda_t = softplus(W_lambda x_t) per head and level:

    parallel:  y_t = sum_{s<=t} lambda_t[level(t, s)] (q_t . k_s) v_s        (a masked T x T product)
    recurrent: y_t = lambda_t[0] (q_t . k_t) v_t + sum_b lambda_t[b + 1] q_t S_b

After T tokens the state holds one matrix per set bit of T (popcount(T) of them, not monotone in T).
Reading a token is a binary increment: the new token and the buckets of the trailing one-bits of T
carry into one bucket, S_new = k_t v_t^T + sum of the merged states. The matrices are one tensor
(batch, heads, popcount(T), d_k, d_v), ordered oldest (largest bucket) first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archclass.reference import ReferenceSpec, attention_heads


def set_bits(n: int) -> list[int]:
    """Set bits of n, highest first: the bucket sizes (as log2) of the prefix [0, n), oldest first."""
    return [b for b in reversed(range(n.bit_length())) if n >> b & 1]


class LogLinearAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int = 2, n_levels: int = 32) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads, self.d_head, self.n_levels = n_heads, d_model // n_heads, n_levels
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.lam = nn.Linear(d_model, n_heads * n_levels)  # lambda for levels 0 .. n_levels - 1
        self.out = nn.Linear(d_model, d_model, bias=False)

    def _project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(batch, T, d_model) -> q, k, v (batch, heads, T, d_head) and lambda (batch, heads, T, levels)."""
        q, k, v = self.qkv(x).unflatten(-1, (3, self.n_heads, self.d_head)).permute(2, 0, 3, 1, 4)
        lam = F.softplus(self.lam(x)).unflatten(-1, (self.n_heads, self.n_levels)).transpose(1, 2)
        return q, k / math.sqrt(self.d_head), v, lam

    def _check(self, T: int) -> None:
        if max(T - 1, 0).bit_length() >= self.n_levels:  # token T - 1 has levels up to bit_length(T - 1)
            raise ValueError(f"{T} tokens need more than n_levels={self.n_levels} levels")

    def forward(self, x: Tensor) -> Tensor:
        q, k, v, lam = self._project(x)
        T = x.shape[1]
        self._check(T)
        pos = torch.arange(T, device=x.device)
        xor = pos[:, None] ^ pos[None, :]
        level = torch.zeros_like(xor)
        for b in range(T.bit_length()):  # bit_length, elementwise
            level += (xor >> b) > 0
        weight = lam.gather(-1, level.expand(*lam.shape[:2], T, T)) * (pos[None, :] <= pos[:, None])
        y = ((q @ k.transpose(-1, -2)) * weight) @ v
        return self.out(y.transpose(1, 2).flatten(-2))

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Any]]:
        return self.forward(x), self.prefill_state(x)

    def prefill_state(self, x: Tensor) -> dict[str, Any]:
        """prefill's state without its (T x T) outputs: each bucket is the sum of its outer products."""
        _, k, v, _ = self._project(x)
        T, start, buckets = x.shape[1], 0, []
        for b in set_bits(T):
            buckets.append(k[:, :, start : start + 2**b].transpose(-1, -2) @ v[:, :, start : start + 2**b])
            start += 2**b
        S = torch.stack(buckets, dim=2) if buckets else self.init_state(x.shape[0])["S"]
        return {"S": S, "t": T}

    def init_state(self, batch: int) -> dict[str, Any]:
        return {"S": self.qkv.weight.new_zeros(batch, self.n_heads, 0, self.d_head, self.d_head), "t": 0}

    def step(self, x: Tensor, state: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
        q, k, v, lam = (t.squeeze(2) for t in self._project(x.unsqueeze(1)))  # (batch, heads, ...)
        S, t = state["S"], state["t"]  # t tokens read so far: the buckets are set_bits(t)
        self._check(t + 1)
        # Each bucket's weight for this query, (batch, heads, popcount(t)); slices, so no host copies.
        lam_b = torch.stack([lam[..., b + 1] for b in set_bits(t)], dim=-1) if t else lam[..., :0]
        y = lam[..., :1] * (q * k).sum(-1, keepdim=True) * v  # level 0: the token itself
        y = y + torch.einsum("bhn,bhk,bhnkv->bhv", lam_b, q, S)
        # Binary increment t -> t + 1: the buckets of the trailing ones of t merge with the new token.
        carry = (~t & (t + 1)).bit_length() - 1  # number of trailing one-bits of t
        merged = k.unsqueeze(-1) * v.unsqueeze(-2) + S[:, :, S.shape[2] - carry :].sum(2)
        S = torch.cat([S[:, :, : S.shape[2] - carry], merged.unsqueeze(2)], dim=2)
        return self.out(y.flatten(-2)), {"S": S, "t": t + 1}


def _fenwick_states(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    heads = kwargs.get("n_heads", 2)
    d_head = d_model // heads
    return T.bit_count() * heads * d_head * d_head  # one d_head x d_head matrix per set bit of T


REFERENCES = (
    ReferenceSpec(
        name="log-linear-attention",
        arch_id="log-linear-attention",
        factory=LogLinearAttention,
        kwargs={"n_heads": 4, "n_levels": 32},
        test_kwargs={"n_heads": 2, "n_levels": 8},
        at_size=lambda size: {"n_heads": attention_heads(size), "n_levels": 32},
        state_scalars=_fenwick_states,
        registry_symbols=lambda d, kw: {"d": d, "h": kw.get("n_heads", 2)},
    ),
)
