"""Operations shared by several reference families: the parallel forms' scans, masks and convolutions.

Each family file imports what it needs from here and nothing from another family's file, so a family
can be read (and changed) on its own.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils._python_dispatch import _get_current_dispatch_mode_stack


def work_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a parallel form computes in: cumulative log-decays, FFTs and log-space scans lose too
    much in half precision, so at least float32."""
    return torch.promote_types(dtype, torch.float32)


def under_counter() -> bool:
    """Whether a TorchDispatchMode (the probe's FLOP and byte counters) is watching. A step may then
    take a path whose operations the counters know, doing the same work as the one it times."""
    return bool(_get_current_dispatch_mode_stack())


def attend(q: Tensor, k: Tensor, v: Tensor, visible: Tensor | None = None, causal: bool = False) -> Tensor:
    """softmax(q k^T / sqrt(d)) v over (batch, heads, T, d); kv heads are shared by groups of q heads.

    visible: a (T_q, T_k) mask of the keys each query sees; causal: the plain causal mask, which the
    fused kernels apply without building a T x T mask (what lets a 131k-token prefill fit)."""
    groups = q.shape[1] // k.shape[1]
    if groups > 1 and visible is None and not causal:
        # GQA/MQA decoding: the queries of a kv head's group become rows of one head, so each cached
        # key and value is read once (a repeat of the cache would copy it `groups` times).
        b, h, t, d = q.shape
        grouped = q.reshape(b, k.shape[1], groups * t, d)
        if q.is_cuda and not under_counter():
            # The fused kernel, each query head on its own (enable_gqa maps it to its kv head): it
            # splits its work by head, so 32 query heads keep the GPU busy where one kv head's rows
            # did not (H200, 2026-12-03, at 131k tokens: the grouped rows through the fused kernel took
            # 11x the floor for GQA and 51x for MQA, and through two matrix products 33x and 6x).
            # enable_gqa is why the probe extra needs torch 2.5. Counted, the grouped rows below do the
            # same work: torch's FLOP formula for the kernels behind enable_gqa asserts equal head counts
            # (torch 2.11 on the H200 failed GQA, MQA and Jamba at their first counted step).
            return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
        return attend(grouped, k, v).reshape(b, h, t, v.shape[-1])
    if groups > 1:  # a masked parallel form: each query head gets its kv head's keys
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
    if q.is_cuda:
        # The fused kernel computes the same function without materialising the T x T scores;
        # FlopCounterMode counts its FLOPs on CUDA.
        return F.scaled_dot_product_attention(q, k, v, attn_mask=visible, is_causal=causal and visible is None)
    # On CPU the explicit form, whose matrix products FlopCounterMode sees (it does not count the
    # CPU fused kernel).
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if causal and visible is None:
        visible = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
    if visible is not None:
        scores = scores.masked_fill(~visible, float("-inf"))
    return scores.softmax(-1) @ v


SUM_BLOCK = 4096
"""Tokens per block of a long weighted sum (mix_values)."""


def mix_values(p: Tensor, v: Tensor, block: int = SUM_BLOCK) -> Tensor:
    """p @ v for weights p (..., rows, T) over values v (..., T, d) with few rows and a long T: the sum
    over T is cut into blocks that run as one batch of products and are then added. As one product, a
    65k-token sum into 32 x 512 outputs ran on a few of the GPU's SMs (the H200 run's MLA step took 8x
    the time of reading its cache); a block's partial sums are added in at least float32."""
    T = p.shape[-1]
    whole = T - T % block
    if whole == 0:
        return p @ v
    blocks = whole // block
    parts = p[..., :whole].unflatten(-1, (blocks, block)).transpose(-3, -2) @ v[..., :whole, :].unflatten(
        -2, (blocks, block)
    )
    y = parts.sum(-3, dtype=work_dtype(parts.dtype))
    if whole < T:
        y = y + p[..., whole:] @ v[..., whole:, :]
    return y.to(p.dtype)


MIN_SLOTS = 16
"""A cache buffer's smallest capacity: more than the probe's first checked steps, so it sees the
buffer keep its shape while it fills."""


def room_for(tokens: int) -> int:
    """Slots to allocate for `tokens` tokens: a power of two at least twice as many, so a cache that
    grows by one slot a step is moved to a larger buffer only once per doubling (O(1) a token,
    amortised), and a prefilled cache has room for as many steps as it has tokens."""
    return max(MIN_SLOTS, 1 << (2 * tokens - 1).bit_length())


def _resized(buffer: Tensor, axis: int, slots: int) -> Tensor:
    shape = list(buffer.shape)
    shape[axis] = slots
    return buffer.new_zeros(shape)


def into_buffer(items: Tensor, axis: int) -> Tensor:
    """A buffer with room_for(n) slots along `axis` whose first n slots are `items`."""
    n = items.shape[axis]
    buffer = _resized(items, axis, room_for(n))
    buffer.narrow(axis, 0, n).copy_(items)
    return buffer


def reserve(buffer: Tensor, length: int, axis: int) -> Tensor:
    """`buffer` if it has a slot `length` along `axis`, else a copy of its first `length` slots into one
    twice as large. A step may then write slot `length` in place: a state of `length` tokens never reads
    it, so the state the step was given stays valid."""
    if buffer.shape[axis] <= length:
        larger = _resized(buffer, axis, room_for(length + 1))
        larger.narrow(axis, 0, length).copy_(buffer.narrow(axis, 0, length))
        buffer = larger
    return buffer


def append(buffer: Tensor, length: int, item: Tensor, axis: int) -> Tensor:
    """Write `item` (one slot along `axis`) into slot `length` of `buffer`, in place (see reserve), and
    return the buffer."""
    buffer = reserve(buffer, length, axis)
    buffer.narrow(axis, length, 1).copy_(item)
    return buffer


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
