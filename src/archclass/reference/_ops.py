"""Operations shared by several reference families: the parallel forms' scans, masks and convolutions.

Each family file imports what it needs from here and nothing from another family's file, so a family
can be read (and changed) on its own.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def work_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a parallel form computes in: cumulative log-decays, FFTs and log-space scans lose too
    much in half precision, so at least float32."""
    return torch.promote_types(dtype, torch.float32)


def attend(q: Tensor, k: Tensor, v: Tensor, visible: Tensor | None = None) -> Tensor:
    """softmax(q k^T / sqrt(d)) v over (batch, heads, T, d); kv heads are shared by groups of q heads."""
    groups = q.shape[1] // k.shape[1]
    if groups > 1:  # GQA/MQA: a kv head serves `groups` consecutive query heads
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
    if q.is_cuda:
        # The fused kernel computes the same function without materialising the T x T scores, which is
        # what lets a 65k-token prefill fit in memory; FlopCounterMode counts its FLOPs on CUDA.
        return F.scaled_dot_product_attention(q, k, v, attn_mask=visible)
    # On CPU the explicit form, whose matrix products FlopCounterMode sees (it does not count the
    # CPU fused kernel).
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if visible is not None:
        scores = scores.masked_fill(~visible, float("-inf"))
    return scores.softmax(-1) @ v


def chunked_scan(log_a: Tensor, u: Tensor, h: Tensor, chunk: int) -> tuple[Tensor, Tensor]:
    """Every h_t of h_t = exp(log_a_t) * h_{t-1} + u_t, chunk by chunk.

    log_a, u: (batch, T, *S); h: the state before the first token, (batch, *S). Returns all h_t,
    (batch, T, *S), and the last one. The c x c differences of cumulative log-decays are masked to -inf
    before exp, so the positive (future) ones never overflow.
    """
    out = []
    for start in range(0, u.shape[1], chunk):
        a, v = log_a[:, start : start + chunk], u[:, start : start + chunk]
        L = a.cumsum(1)
        c = L.shape[1]
        keep = torch.ones(c, c, dtype=torch.bool, device=u.device).tril().view(c, c, *[1] * (L.dim() - 2))
        decay = (L.unsqueeze(2) - L.unsqueeze(1)).masked_fill(~keep, float("-inf")).exp()  # (b, t, s, *S)
        hs = (decay * v.unsqueeze(1)).sum(2) + L.exp() * h.unsqueeze(1)
        out.append(hs)
        h = hs[:, -1]
    return torch.cat(out, 1), h


def gated_scores(q: Tensor, k: Tensor, gq: Tensor, gk: Tensor, diagonal: int = 0) -> Tensor:
    """A[t, s] = sum_c q_tc k_sc exp(gq_tc - gk_sc) for s <= t + diagonal, else 0.

    q, k, gq, gk: (..., T, c). The T x T x c difference is masked to -inf *before* exp, so the
    positive (future) differences that would overflow never reach exp. Shared by the families whose
    state decays per key channel (GLA, HGRN2, RWKV-7).
    """
    T = q.shape[-2]
    keep = torch.ones(T, T, dtype=torch.bool, device=q.device).tril(diagonal)
    log_decay = (gq.unsqueeze(-2) - gk.unsqueeze(-3)).masked_fill(~keep[..., None], float("-inf"))
    return torch.einsum("...tc,...sc,...tsc->...ts", q, k, log_decay.exp())


def decayed_sum(k: Tensor, v: Tensor, g: Tensor) -> Tensor:
    """sum_s (k_s * exp(g_T - g_s))^T v_s: the state after the last token, (..., c, d_v)."""
    return (k * (g[..., -1:, :] - g).exp()).transpose(-1, -2) @ v


def causal_fft_conv(u: Tensor, k: Tensor) -> Tensor:
    """y_t = sum_{l<=t} k_l u_{t-l} along the last axis; zero-padding to 2T makes the circular FFT
    convolution causal. FFTs need >= float32."""
    T, work = u.shape[-1], work_dtype(u.dtype)
    y = torch.fft.irfft(torch.fft.rfft(u.to(work), n=2 * T) * torch.fft.rfft(k.to(work), n=2 * T), n=2 * T)
    return y[..., :T].to(u.dtype)
