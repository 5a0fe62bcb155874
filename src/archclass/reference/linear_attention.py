"""Linear attention (Katharopoulos et al., 2020) and retention (RetNet, Sun et al., 2023).

Both keep one d_k x d_v matrix per head as their whole state. Linear attention maps queries and
keys through a positive feature map phi(x) = elu(x) + 1 and also keeps the normaliser z = sum phi(k);
retention drops the normaliser and decays the state by a fixed gamma per head.

    parallel:  y_t = sum_{s<=t} gamma^(t-s) (q_t . k_s) v_s           (a masked T x T product)
    chunked:   the same, c tokens at a time: a masked c x c product inside each chunk plus q_t times
               the state the earlier chunks left, decayed (T x c x d work instead of T x T x d)
    recurrent: S_t = gamma S_{t-1} + k_t^T v_t,   y_t = q_t S_t        (a d_k x d_v state)

The normaliser of linear attention, sum_s (q_t . k_s), is the last column of the same sums taken over
values with a column of ones appended, so the chunked form gives it too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archclass.reference import ReferenceSpec, attention_heads
from archclass.reference._ops import work_dtype


def chunked_retention(q: Tensor, k: Tensor, v: Tensor, gamma: Tensor, chunk: int) -> Tensor:
    """y_t = sum_{s<=t} gamma^(t-s) (q_t . k_s) v_s for q, k (b, h, T, d_k), v (b, h, T, d_v) and a decay
    per head gamma (h,), one chunk of `chunk` tokens at a time."""
    S = q.new_zeros(*q.shape[:2], q.shape[-1], v.shape[-1])  # what the earlier chunks left
    pos = torch.arange(chunk, device=q.device, dtype=q.dtype)
    g = gamma.to(q.dtype)[:, None]  # (h, 1)
    out = []
    for start in range(0, q.shape[-2], chunk):
        qc, kc, vc = (t[..., start : start + chunk, :] for t in (q, k, v))
        i = pos[: qc.shape[-2]]
        gap = i[:, None] - i[None, :]
        inside = g[..., None] ** gap.clamp(min=0) * (gap >= 0)  # (h, c, c)
        carried = (qc * (g ** (i + 1))[..., None]) @ S  # S decayed by gamma^(i+1) at the chunk's i-th token
        out.append(((qc @ kc.mT) * inside) @ vc + carried)
        S = g[..., None] ** len(i) * S + (kc * (g ** (len(i) - 1 - i))[..., None]).mT @ vc
    return torch.cat(out, dim=-2)


class _MatrixStateMixer(nn.Module):
    """Shared projections; subclasses choose the feature map, decay, normaliser and output norm."""

    normalise = False
    head_norm = False
    eps = 1e-6
    """Added to the normaliser, as in the paper's code: in bf16, elu(x) + 1 rounds to exactly 0 for
    x below about -6, and a query whose features all vanish would divide 0 by 0."""

    def __init__(self, d_model: int, n_heads: int = 2, chunk_size: int = 64) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.chunk = chunk_size
        """Tokens per chunk of the parallel form; 0 keeps the T x T form. The T x T form of a batch of
        256 sequences of 1,024 tokens took 4 GiB a layer, and ran the recall sweep out of memory."""
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out = nn.Linear(d_model, d_model, bias=False)
        self.gamma: Tensor
        self.register_buffer("gamma", self.decays(n_heads), persistent=False)

    def decays(self, n_heads: int) -> Tensor:
        return torch.ones(n_heads)

    def feature(self, x: Tensor) -> Tensor:
        return x

    def output(self, y: Tensor) -> Tensor:
        """(..., heads, d_head) head outputs -> (..., d_model), through the output projection."""
        if self.head_norm:
            # RetNet's GroupNorm over each head's output (one group per head, per token); it keeps
            # the unnormalised retention sums at a trainable scale and carries nothing between steps.
            y = F.layer_norm(y, (self.d_head,))
        return self.out(y.flatten(-2))

    def _qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        q, k, v = self.qkv(x).unflatten(-1, (3, self.n_heads, self.d_head)).unbind(-3)
        return self.feature(q), self.feature(k) / math.sqrt(self.d_head), v

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = (t.transpose(1, 2) for t in self._qkv(x))  # (batch, heads, T, d_head)
        T = x.shape[1]
        if self.chunk and self.chunk < T:
            work = work_dtype(x.dtype)
            if self.normalise:
                v = torch.cat([v, torch.ones_like(v[..., :1])], dim=-1)
            y = chunked_retention(q.to(work), k.to(work), v.to(work), self.gamma, self.chunk)
            if self.normalise:
                y = y[..., :-1] / (y[..., -1:] + self.eps)
            return self.output(y.transpose(1, 2).to(x.dtype))
        pos = torch.arange(T, device=x.device)
        gap = (pos[:, None] - pos[None, :]).to(x.dtype)
        mask = self.gamma.to(x.dtype)[:, None, None] ** gap.clamp(min=0) * (gap >= 0)
        scores = (q @ k.transpose(-1, -2)) * mask
        y = scores @ v
        if self.normalise:
            y = y / (scores.sum(-1, keepdim=True) + self.eps)
        return self.output(y.transpose(1, 2))

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Outputs and the state after x in parallel: S_T = sum_s gamma^(T-s) k_s^T v_s."""
        q, k, v = self._qkv(x)  # (batch, T, heads, d_head)
        T = x.shape[1]
        ages = (T - 1 - torch.arange(T, device=x.device)).to(x.dtype)
        weights = self.gamma.to(x.dtype)[None, :] ** ages[:, None]  # (T, heads)
        state = {"S": torch.einsum("th,bthk,bthv->bhkv", weights, k, v)}
        if self.normalise:
            state["z"] = torch.einsum("th,bthk->bhk", weights, k)
        return self.forward(x), state

    def init_state(self, batch: int) -> dict[str, Tensor]:
        p = self.qkv.weight
        state = {"S": p.new_zeros(batch, self.n_heads, self.d_head, self.d_head)}
        if self.normalise:
            state["z"] = p.new_zeros(batch, self.n_heads, self.d_head)
        return state

    def step(self, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        q, k, v = self._qkv(x)  # (batch, heads, d_head)
        gamma = self.gamma.to(x.dtype)[:, None, None]
        S = gamma * state["S"] + k.unsqueeze(-1) * v.unsqueeze(-2)
        y = torch.einsum("bhk,bhkv->bhv", q, S)
        new = {"S": S}
        if self.normalise:
            z = state["z"] + k
            y = y / (torch.einsum("bhk,bhk->bh", q, z).unsqueeze(-1) + self.eps)
            new["z"] = z
        return self.output(y), new


class LinearAttention(_MatrixStateMixer):
    normalise = True

    def feature(self, x: Tensor) -> Tensor:
        return F.elu(x) + 1


class RetNet(_MatrixStateMixer):
    head_norm = True

    def decays(self, n_heads: int) -> Tensor:
        # The paper's per-head decays: gamma_h = 1 - 2^(-5 - h) for h = 0..H-1 (spread over 5..8
        # when there are many heads).
        exponents = torch.linspace(5, 8, n_heads) if n_heads > 1 else torch.tensor([5.0])
        return 1 - 2.0 ** (-exponents)


def _matrix_state(T: int, d_model: int, kwargs: Mapping[str, Any], normaliser: bool) -> int:
    heads = kwargs.get("n_heads", 2)
    d_head = d_model // heads
    return heads * d_head * d_head + (heads * d_head if normaliser else 0)


REFERENCES = (
    ReferenceSpec(
        name="linear-attention",
        arch_id="linear-transformer",
        factory=LinearAttention,
        kwargs={"n_heads": 4},
        test_kwargs={"n_heads": 2},
        at_size=lambda size: {"n_heads": attention_heads(size)},
        state_scalars=lambda T, d, kw: _matrix_state(T, d, kw, normaliser=True),
        registry_symbols=lambda d, kw: {"d": d, "h": kw.get("n_heads", 2)},
    ),
    ReferenceSpec(
        name="retnet",
        arch_id="retnet",
        factory=RetNet,
        kwargs={"n_heads": 4},
        test_kwargs={"n_heads": 2},
        at_size=lambda size: {"n_heads": attention_heads(size)},
        state_scalars=lambda T, d, kw: _matrix_state(T, d, kw, normaliser=False),
        # The reference keeps values as wide as keys (e = 1); the paper's RetNet doubles them (e = 2).
        registry_symbols=lambda d, kw: {"d": d, "h": kw.get("n_heads", 2), "e": 1},
    ),
)
