"""Diagonal linear time-invariant SSMs: S4D (Gu et al., 2022) and the LRU (Orvieto et al., 2023).

Both run one complex diagonal recurrence whose coefficients do not depend on the input, so the
parallel form is a convolution (S4D: a kernel from a Vandermonde product, applied by FFT) or a sum of
powers of lambda (LRU: masked powers inside a chunk, the chunk's last state handed on).

    S4D: h_t = exp(dt A) h_{t-1} + (exp(dt A) - 1)/A B u_t,  y_t = 2 Re(C h_t) + D u_t   (N/2 modes/channel)
    LRU: h_t = lambda h_{t-1} + gamma (B u_t),              y_t = Re(C h_t) + D u_t     (N modes, shared)

A complex number is two real numbers, and the state stores it as such: a real tensor with a last axis
of size 2 (real, imaginary), so its numel counts real scalars. The arithmetic is written out on those
pairs too, which also runs in bfloat16 (torch has no complex bfloat16).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archclass.reference import ReferenceSpec
from archclass.reference._ops import causal_fft_conv, work_dtype


def cmul(ar: Tensor, ai: Tensor, br: Tensor, bi: Tensor) -> tuple[Tensor, Tensor]:
    return ar * br - ai * bi, ar * bi + ai * br


class S4D(nn.Module):
    def __init__(self, d_model: int, d_state: int = 64, dt_min: float = 1e-3, dt_max: float = 1e-1) -> None:
        super().__init__()
        if d_state % 2:
            raise ValueError(f"d_state={d_state} must be even: modes come in conjugate pairs")
        H, M = d_model, d_state // 2  # the N-dimensional state keeps only one of each conjugate pair
        self.d_model, self.modes = H, M
        self.log_dt = nn.Parameter(torch.rand(H) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        # S4D-Lin: A_n = -1/2 + i pi n. The real part is stored as a log so it stays negative.
        self.log_A_real = nn.Parameter(torch.full((H, M), math.log(0.5)))
        self.A_imag = nn.Parameter(math.pi * torch.arange(M, dtype=torch.float32).repeat(H, 1))
        self.C = nn.Parameter(torch.randn(H, M, 2) * math.sqrt(0.5))  # complex, B is fixed to 1
        self.D = nn.Parameter(torch.randn(H))
        self.out = nn.Linear(H, 2 * H)  # position-wise output mixing (GLU), as in the S4D block

    def _discrete(self, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """dt A, exp(dt A) and the ZOH input map dB = (exp(dt A) - 1) / A as (real, imag), each (H, M)."""
        dt = self.log_dt.to(dtype).exp()[:, None]
        ar, ai = -self.log_A_real.to(dtype).exp(), self.A_imag.to(dtype)
        dar, dai = dt * ar, dt * ai
        er, ei = dar.exp() * dai.cos() - 1, dar.exp() * dai.sin()  # exp(dt A) - 1
        inv = 1 / (ar * ar + ai * ai)
        dbr, dbi = cmul(er, ei, ar * inv, -ai * inv)
        return dar, dai, er + 1, ei, dbr, dbi

    def _mix(self, y: Tensor, u: Tensor) -> Tensor:
        return F.glu(self.out(F.gelu(y + self.D * u)), dim=-1)

    def prefill(self, u: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        T, work = u.shape[1], work_dtype(u.dtype)  # phases l dt A_imag need more than bfloat16
        dar, dai, _, _, dbr, dbi = self._discrete(work)
        # Vandermonde: K_l = 2 Re(sum_n C_n dB_n exp(l dt A_n)), for l = 0 .. T-1.
        lag = torch.arange(T, device=u.device, dtype=dar.dtype)
        mag, phase = (dar[..., None] * lag).exp(), dai[..., None] * lag  # (H, M, T)
        pr, pi = mag * phase.cos(), mag * phase.sin()
        cbr, cbi = cmul(self.C[..., 0].to(work), self.C[..., 1].to(work), dbr, dbi)
        K = 2 * (cbr[..., None] * pr - cbi[..., None] * pi).sum(1)  # (H, T)
        y = causal_fft_conv(u.transpose(1, 2), K).transpose(1, 2)
        # The state after T tokens: h = dB * sum_s exp((T-1-s) dt A) u_s, the same powers reversed.
        uw = u.to(work)
        sr, si = torch.einsum("hmt,bth->bhm", pr.flip(-1), uw), torch.einsum("hmt,bth->bhm", pi.flip(-1), uw)
        h = torch.stack(cmul(sr, si, dbr, dbi), dim=-1).to(u.dtype)
        return self._mix(y, u), {"h": h}

    def forward(self, u: Tensor) -> Tensor:
        return self.prefill(u)[0]

    def init_state(self, batch: int) -> dict[str, Tensor]:
        return {"h": self.C.new_zeros(batch, self.d_model, self.modes, 2)}  # complex as (real, imag)

    def step(self, u: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        # The recurrence runs in at least float32 and the state is stored in the module's dtype: in
        # bfloat16, exp(dt A) with |exp(dt A)| near 1 rounds to a magnitude of 1 or more, and the H200
        # run at d_model 4,096 reached infinities by token 65,528.
        work = work_dtype(u.dtype)
        _, _, ar, ai, dbr, dbi = self._discrete(work)
        h, uw = state["h"].to(work), u.to(work)[..., None]
        hr, hi = cmul(ar, ai, h[..., 0], h[..., 1])
        hr, hi = hr + dbr * uw, hi + dbi * uw
        y = 2 * (self.C[..., 0].to(work) * hr - self.C[..., 1].to(work) * hi).sum(-1)
        return self._mix(y.to(u.dtype), u), {"h": torch.stack([hr, hi], dim=-1).to(u.dtype)}


class LRU(nn.Module):
    def __init__(
        self,
        d_model: int,
        d_state: int = 64,
        r_min: float = 0.9,
        r_max: float = 0.999,
        max_phase: float = 2 * math.pi,
        chunk_size: int = 64,
    ) -> None:
        super().__init__()
        N, H = d_state, d_model
        self.d_state, self.chunk = N, chunk_size
        # lambda = exp(-exp(nu_log) + i exp(theta_log)), uniform on the ring r_min <= |lambda| <= r_max.
        u1, u2 = torch.rand(N), torch.rand(N)
        self.nu_log = nn.Parameter(torch.log(-0.5 * torch.log(u1 * (r_max**2 - r_min**2) + r_min**2)))
        self.theta_log = nn.Parameter(torch.log(max_phase * u2))
        # gamma = sqrt(1 - |lambda|^2) keeps the state's scale when |lambda| is close to 1.
        self.gamma_log = nn.Parameter(torch.log(torch.sqrt(1 - torch.exp(-2 * self.nu_log.detach().exp()))))
        self.B = nn.Parameter(torch.randn(N, H, 2) / math.sqrt(2 * H))  # complex (real, imag)
        self.C = nn.Parameter(torch.randn(H, N, 2) / math.sqrt(N))
        self.D = nn.Parameter(torch.randn(H))

    def _input(self, u: Tensor) -> tuple[Tensor, Tensor]:
        g = self.gamma_log.exp()
        return g * (u @ self.B[..., 0].T), g * (u @ self.B[..., 1].T)

    def _output(self, hr: Tensor, hi: Tensor, u: Tensor) -> Tensor:
        return hr @ self.C[..., 0].T - hi @ self.C[..., 1].T + self.D * u  # Re(C h) + D u

    def prefill(self, u: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        work = work_dtype(u.dtype)
        br, bi = (t.to(work) for t in self._input(u))  # (b, T, N)
        log_mag, theta = -self.nu_log.to(work).exp(), self.theta_log.to(work).exp()
        hr = br.new_zeros(u.shape[0], self.d_state)
        hi = torch.zeros_like(hr)
        outs_r, outs_i = [], []
        for start in range(0, u.shape[1], self.chunk):
            xr, xi = br[:, start : start + self.chunk], bi[:, start : start + self.chunk]
            c = xr.shape[1]
            pos = torch.arange(c, device=u.device, dtype=work)
            gap = (pos[:, None] - pos[None, :]).unsqueeze(-1)  # (t, s, 1)
            # lambda^(t-s) for s <= t: h_t = sum_s lambda^(t-s) x_s + lambda^(t+1) h_before.
            mag = (gap * log_mag).masked_fill(gap < 0, float("-inf")).exp()
            wr, wi = mag * (gap * theta).cos(), mag * (gap * theta).sin()
            yr = torch.einsum("tsn,bsn->btn", wr, xr) - torch.einsum("tsn,bsn->btn", wi, xi)
            yi = torch.einsum("tsn,bsn->btn", wr, xi) + torch.einsum("tsn,bsn->btn", wi, xr)
            p = (pos + 1)[:, None]
            lr, li = (p * log_mag).exp() * (p * theta).cos(), (p * log_mag).exp() * (p * theta).sin()
            carry_r, carry_i = cmul(lr, li, hr[:, None], hi[:, None])
            yr, yi = yr + carry_r, yi + carry_i
            outs_r.append(yr)
            outs_i.append(yi)
            hr, hi = yr[:, -1], yi[:, -1]
        y = self._output(torch.cat(outs_r, 1).to(u.dtype), torch.cat(outs_i, 1).to(u.dtype), u)
        return y, {"h": torch.stack([hr, hi], dim=-1).to(u.dtype)}

    def forward(self, u: Tensor) -> Tensor:
        return self.prefill(u)[0]

    def init_state(self, batch: int) -> dict[str, Tensor]:
        return {"h": self.B.new_zeros(batch, self.d_state, 2)}  # complex as (real, imag)

    def step(self, u: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        mag, theta = torch.exp(-self.nu_log.exp()), self.theta_log.exp()
        hr, hi = cmul(mag * theta.cos(), mag * theta.sin(), state["h"][..., 0], state["h"][..., 1])
        xr, xi = self._input(u)
        hr, hi = hr + xr, hi + xi
        return self._output(hr, hi, u), {"h": torch.stack([hr, hi], dim=-1)}


def _s4d_state(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    return d_model * kwargs.get("d_state", 64)  # d_state/2 complex modes = d_state reals per channel


def _lru_state(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    return 2 * kwargs.get("d_state", 64)  # d_state complex numbers


REFERENCES = (
    ReferenceSpec(
        name="s4d",
        size_knob="d_state",
        arch_id="s4d",
        factory=S4D,
        kwargs={"d_state": 64},
        test_kwargs={"d_state": 8},
        at_size=lambda size: {"d_state": 64},
        state_scalars=_s4d_state,
        registry_symbols=lambda d, kw: {"d": d, "n": kw["d_state"]},
    ),
    ReferenceSpec(
        name="lru",
        size_knob="d_state",
        arch_id="lru",
        factory=LRU,
        kwargs={"d_state": 64, "chunk_size": 64},
        test_kwargs={"d_state": 8, "chunk_size": 5},
        at_size=lambda size: {"d_state": 256, "chunk_size": 64},
        state_scalars=_lru_state,
        registry_symbols=lambda d, kw: {"d": d, "n": kw["d_state"]},
    ),
)
