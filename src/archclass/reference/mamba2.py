"""Mamba-2 (Dao & Gu, 2024): state-space duality (SSD).

Mamba-2 restricts A to a scalar times the identity per head, so a head's state decays as a whole.
The d_inner channels form heads of size headdim; B_t and C_t (size d_state) are shared by all heads
(ngroups = 1) and come out of the input projection together with x, through one causal conv.

    recurrent: H_t = exp(dt_t A_h) H_{t-1} + dt_t x_t B_t^T        (headdim x d_state per head)
               y_t = H_t C_t + D_h x_t
    parallel:  y_t = sum_{s<=t} (C_t . B_s) exp(L_t - L_s) dt_s x_s,   L_t = sum_{r<=t} dt_r A_h

The parallel form is the SSD "masked attention" form, chunk by chunk: a c x c masked product inside
each chunk, and the chunk's final H handed to the next (the paper's state-passing step). The state is
the conv buffer over x, B, C ((d_inner + 2 d_state) x (d_conv - 1)) plus H per head.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archclass.reference import ReferenceSpec
from archclass.reference._ops import work_dtype


def ssd_chunked(x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, chunk: int) -> tuple[Tensor, Tensor]:
    """x: (b, T, heads, headdim); dt: (b, T, heads); A: (heads,); B, C: (b, T, d_state).
    Returns y without the D skip, (b, T, heads, headdim), and the last state (b, heads, headdim, d_state)."""
    H = x.new_zeros(x.shape[0], x.shape[2], x.shape[3], B.shape[-1])
    out = []
    for start in range(0, x.shape[1], chunk):
        xs, dts, Bs, Cs = (t[:, start : start + chunk] for t in (x, dt, B, C))
        L = (dts * A).cumsum(1)  # (b, c, heads)
        c = L.shape[1]
        keep = torch.ones(c, c, dtype=torch.bool, device=x.device).tril()[..., None]
        decay = (L.unsqueeze(2) - L.unsqueeze(1)).masked_fill(~keep, float("-inf")).exp()  # (b, t, s, heads)
        scores = torch.einsum("btn,bsn->bts", Cs, Bs).unsqueeze(-1) * decay * dts.unsqueeze(1)
        y = torch.einsum("btsh,bshp->bthp", scores, xs)
        y = y + torch.einsum("btn,bhpn->bthp", Cs, H) * L.exp().unsqueeze(-1)  # what earlier chunks left
        to_end = (L[:, -1:] - L).exp() * dts  # (b, c, heads): decay from each token to the chunk's end
        H = L[:, -1].exp()[..., None, None] * H + torch.einsum("bsh,bshp,bsn->bhpn", to_end, xs, Bs)
        out.append(y)
    return torch.cat(out, 1), H


class Mamba2(nn.Module):
    def __init__(
        self,
        d_model: int,
        d_state: int = 64,
        d_conv: int = 4,
        expand: int = 2,
        headdim: int = 32,
        chunk_size: int = 64,
    ) -> None:
        super().__init__()
        d_inner = expand * d_model
        if d_inner % headdim:
            raise ValueError(f"d_inner={d_inner} is not divisible by headdim={headdim}")
        self.d_inner, self.d_state, self.d_conv, self.chunk = d_inner, d_state, d_conv, chunk_size
        self.n_heads, self.headdim = d_inner // headdim, headdim
        self.conv_dim = d_inner + 2 * d_state
        self.in_proj = nn.Linear(d_model, d_inner + self.conv_dim + self.n_heads, bias=False)  # z, xBC, dt
        self.conv = nn.Conv1d(self.conv_dim, self.conv_dim, d_conv, groups=self.conv_dim)
        dt = torch.exp(torch.rand(self.n_heads) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1 of dt
        self.A_log = nn.Parameter(torch.log(torch.empty(self.n_heads).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(self.n_heads))
        self.norm_weight = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)

    def _split(self, xBC: Tensor, dt: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        x, B, C = xBC.split([self.d_inner, self.d_state, self.d_state], dim=-1)
        return x.unflatten(-1, (self.n_heads, self.headdim)), F.softplus(dt + self.dt_bias), B, C

    def _output(self, y: Tensor, z: Tensor) -> Tensor:
        # The gated RMSNorm of Mamba-2: normalise y * silu(z) over d_inner, then project.
        y = y.flatten(-2) * F.silu(z)
        return self.out_proj(F.rms_norm(y, (self.d_inner,), self.norm_weight, eps=1e-5))

    def prefill(self, u: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        z, xBC, dt = self.in_proj(u).split([self.d_inner, self.conv_dim, self.n_heads], dim=-1)
        xBC = F.pad(xBC.transpose(1, 2), (self.d_conv - 1, 0))  # (b, conv_dim, d_conv - 1 + T)
        conv = F.conv1d(xBC, self.conv.weight, self.conv.bias, groups=self.conv_dim)
        x, dt, B, C = self._split(F.silu(conv).transpose(1, 2), dt)
        work = work_dtype(u.dtype)
        A = -self.A_log.exp().to(work)
        y, H = ssd_chunked(x.to(work), dt.to(work), A, B.to(work), C.to(work), self.chunk)
        y = y.to(u.dtype) + self.D[:, None] * x
        state = {"conv": xBC[:, :, xBC.shape[-1] - (self.d_conv - 1) :], "ssm": H.to(u.dtype)}
        return self._output(y, z), state

    def forward(self, u: Tensor) -> Tensor:
        return self.prefill(u)[0]

    def init_state(self, batch: int) -> dict[str, Tensor]:
        p = self.in_proj.weight
        return {
            "conv": p.new_zeros(batch, self.conv_dim, self.d_conv - 1),
            "ssm": p.new_zeros(batch, self.n_heads, self.headdim, self.d_state),
        }

    def step(self, u: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        z, xBC, dt = self.in_proj(u).split([self.d_inner, self.conv_dim, self.n_heads], dim=-1)
        window = torch.cat([state["conv"], xBC.unsqueeze(-1)], dim=-1)  # (b, conv_dim, d_conv)
        xBC = F.silu((window * self.conv.weight[:, 0]).sum(-1) + self.conv.bias)
        x, dt, B, C = self._split(xBC, dt)  # x: (b, heads, headdim), dt: (b, heads)
        decay = torch.exp(dt * -self.A_log.exp())[..., None, None]
        H = decay * state["ssm"] + (dt[..., None] * x).unsqueeze(-1) * B[:, None, None, :]
        y = torch.einsum("bhpn,bn->bhp", H, C) + self.D[:, None] * x
        return self._output(y, z), {"conv": window[:, :, 1:], "ssm": H}


def mamba2_state(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    d_inner, d_state = kwargs.get("expand", 2) * d_model, kwargs.get("d_state", 64)
    return (d_inner + 2 * d_state) * (kwargs.get("d_conv", 4) - 1) + d_inner * d_state


def _registry_symbols(d_model: int, kwargs: Mapping[str, Any]) -> dict[str, float]:
    # One group of B and C shared by all heads (ngroups = 1).
    return {"d": d_model, "e": kwargs.get("expand", 2), "n": kwargs["d_state"], "g": 1, "k": kwargs.get("d_conv", 4)}


REFERENCES = (
    ReferenceSpec(
        name="mamba-2",
        size_knob="d_state",
        arch_id="mamba-2",
        factory=Mamba2,
        kwargs={"d_state": 64, "headdim": 32, "chunk_size": 64},
        test_kwargs={"d_state": 8, "headdim": 16, "chunk_size": 5},
        at_size=lambda size: {"d_state": size.ssd_state, "headdim": 64, "chunk_size": 64},
        state_scalars=mamba2_state,
        registry_symbols=_registry_symbols,
    ),
)
