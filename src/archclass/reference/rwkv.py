"""RWKV-7 "Goose" time mixing (Peng et al., 2025): the generalised delta rule with vector decay.

Per head a d_head x d_head state; per token a data-dependent decay w_t in (exp(-e^-0.5), 1)^d, an
in-context learning rate a_t in (0, 1)^d, a removal key kappa_hat (L2-normalised per head) and a
replacement key k~ = k * (1 + (a_t - 1) * alpha). In the paper's layout (S is d_v x d_k):

    S_t = S_{t-1} (diag(w_t) + a^T b) + v_t^T k~_t,   a = -kappa_hat,  b = kappa_hat * a_t,   y_t = S_t r_t

Every branch reads a token-shifted input x + (x_{t-1} - x) * mu, so the previous token's x (d_model
scalars) is part of the state. The state is stored k-major here (S^T), as in the other families.

Parallel form: with u_t = a_t S_{t-1} (k-major) and G = cumsum log w, S_t = sum_{s<=t} diag(exp(G_t - G_s))
(b_s^T u_s + k~_s^T v_s). The u_t then solve one unit lower-triangular system,
(I - A_ab) U = A_ak V with A_xy[t, s] = sum_c x_tc y_sc exp(G_{t-1,c} - G_sc) for s < t, and
Y = M_rb U + M_rk V with the inclusive (s <= t) masks. The output norm, "bonus" term, gate and value
residual are stateless and left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archclass.reference import ReferenceSpec
from archclass.reference._ops import decayed_sum, gated_scores, work_dtype


def _lora(d_model: int, rank: int) -> tuple[nn.Parameter, nn.Parameter]:
    down = torch.randn(d_model, rank) / d_model**0.5
    up = torch.randn(rank, d_model) / rank**0.5
    return nn.Parameter(down), nn.Parameter(up)


class RWKV7(nn.Module):
    def __init__(self, d_model: int, n_heads: int = 2, lora_rank: int = 16) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.mu = nn.Parameter(torch.rand(5, d_model))  # token-shift mix for r, w, k, v, a
        self.r, self.k, self.v, self.out = (nn.Linear(d_model, d_model, bias=False) for _ in range(4))
        # Low-rank data-dependent decay and learning rate around per-channel biases w0, a0.
        self.w0 = nn.Parameter(torch.linspace(-3.0, 3.0, d_model))
        self.w1, self.w2 = _lora(d_model, lora_rank)
        self.a0 = nn.Parameter(torch.zeros(d_model))
        self.a1, self.a2 = _lora(d_model, lora_rank)
        self.k_k = nn.Parameter(torch.full((d_model,), 0.85))  # xi: removal key = k * xi
        self.k_a = nn.Parameter(torch.ones(d_model))  # alpha: how much a_t scales the replacement key

    def _project(self, x: Tensor, x_prev: Tensor) -> tuple[Tensor, ...]:
        xr, xw, xk, xv, xa = (x + (x_prev - x) * mu for mu in self.mu)
        heads = (self.n_heads, self.d_head)
        r, k, v = self.r(xr), self.k(xk), self.v(xv)
        log_w = -math.exp(-0.5) * torch.sigmoid(self.w0 + torch.tanh(xw @ self.w1) @ self.w2)
        a = torch.sigmoid(self.a0 + (xa @ self.a1) @ self.a2)
        kappa = F.normalize((k * self.k_k).unflatten(-1, heads), dim=-1)
        k = k * (1 + (a - 1) * self.k_a)
        r, k, v, log_w, a = (t.unflatten(-1, heads) for t in (r, k, v, log_w, a))
        return r, k, v, log_w, -kappa, kappa * a  # ..., removal a = -kappa_hat, b = kappa_hat * a_t

    def _parallel(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        work = work_dtype(x.dtype)
        x_prev = F.pad(x, (0, 0, 1, 0))[:, :-1]  # token shift: x_{t-1}, zeros before the first token
        r, k, v, log_w, a, b = (t.transpose(1, 2).to(work) for t in self._project(x, x_prev))
        G = log_w.cumsum(-2)
        G_prev = G - log_w  # G_{t-1}: u_t reads the state before token t's own decay
        eye = torch.eye(x.shape[1], dtype=work, device=x.device)
        A_ab = gated_scores(a, b, G_prev, G, diagonal=-1)
        A_ak = gated_scores(a, k, G_prev, G, diagonal=-1)
        U = torch.linalg.solve_triangular(eye - A_ab, A_ak @ v, upper=False, unitriangular=True)
        y = gated_scores(r, b, G, G) @ U + gated_scores(r, k, G, G) @ v
        S = decayed_sum(b, U, G) + decayed_sum(k, v, G)
        return self.out(y.transpose(1, 2).flatten(-2).to(x.dtype)), {"S": S.to(x.dtype), "x_prev": x[:, -1]}

    def forward(self, x: Tensor) -> Tensor:
        return self._parallel(x)[0]

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        return self._parallel(x)

    def init_state(self, batch: int) -> dict[str, Tensor]:
        p = self.r.weight
        return {
            "S": p.new_zeros(batch, self.n_heads, self.d_head, self.d_head),
            "x_prev": p.new_zeros(batch, p.shape[1]),
        }

    def step(self, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        r, k, v, log_w, a, b = self._project(x, state["x_prev"])  # (b, h, d_head)
        S = state["S"]
        u = torch.einsum("bhk,bhkv->bhv", a, S)  # a_t S_{t-1}: the part of the state being replaced
        S = log_w.exp().unsqueeze(-1) * S + b.unsqueeze(-1) * u.unsqueeze(-2)
        S = S + k.unsqueeze(-1) * v.unsqueeze(-2)
        y = torch.einsum("bhk,bhkv->bhv", r, S)
        return self.out(y.flatten(-2)), {"S": S, "x_prev": x}


def _state(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    heads = kwargs.get("n_heads", 2)
    return heads * (d_model // heads) ** 2 + d_model  # wkv state + token shift


REFERENCES = (
    ReferenceSpec(
        name="rwkv-7",
        arch_id="rwkv-7",
        factory=RWKV7,
        kwargs={"n_heads": 4, "lora_rank": 16},
        test_kwargs={"n_heads": 2, "lora_rank": 4},
        at_size=lambda size: {"n_heads": size.d // 64, "lora_rank": 64},
        state_scalars=_state,
        registry_symbols=lambda d, kw: {"d": d, "dh": d / kw.get("n_heads", 2)},
    ),
)
