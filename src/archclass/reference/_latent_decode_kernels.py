"""The Triton kernels of latent_attention (see _latent_decode): split-KV decoding with an online softmax.

Launch 1, one program per (head block, split, batch row): it scores its heads against its split of the
cache a tile of rows at a time, each tile loaded once and used both as keys (all columns) and as values
(the first d_value), and writes its heads' softmax-weighted sum over the split (float32) with the
log-sum-exp of the split's scores. Launch 2 weighs the splits' sums by exp(lse) and adds them. Head
blocks are the grid's first axis, so the programs that read the same rows run side by side and the
second read of a tile comes from L2. Imported only when the kernel runs: triton is optional.
"""

from __future__ import annotations

import torch
import triton  # type: ignore[import-untyped, unused-ignore]
import triton.language as tl  # type: ignore[import-untyped, unused-ignore]
from torch import Tensor


# The length and the split length change every step: specialising on them (as Triton does on integers
# divisible by 16) would compile new variants as a cache grows, and a compile cannot be captured in a graph.
@triton.jit(do_not_specialize=["tokens", "per_split"])
def _attend_split(
    query, rest, rows, partial, lse,
    q_batch, q_head, q_col, s_batch, s_head, s_col, r_batch, r_token, r_col,
    heads, tokens, per_split, splits, d_value, d_rest, scale,
    BLOCK_H: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_V: tl.constexpr, BLOCK_R: tl.constexpr,
    PRECISION: tl.constexpr,
):  # fmt: skip
    head_block, split, b = tl.program_id(0), tl.program_id(1), tl.program_id(2)
    h = head_block * BLOCK_H + tl.arange(0, BLOCK_H)
    v_cols, r_cols = tl.arange(0, BLOCK_V), tl.arange(0, BLOCK_R)
    h_ok, v_ok, r_ok = h < heads, v_cols < d_value, r_cols < d_rest
    # The query's first d_value columns (scoring the values) and the rest (the rotary part) come as two
    # tensors and load as two blocks, each a power of two wide and masked, so any d_value and d_rest work.
    q_rows = query + b.to(tl.int64) * q_batch + h[:, None] * q_head
    q_v = tl.load(q_rows + v_cols[None, :] * q_col, mask=h_ok[:, None] & v_ok[None, :], other=0.0)
    s_rows = rest + b.to(tl.int64) * s_batch + h[:, None] * s_head
    q_r = tl.load(s_rows + r_cols[None, :] * s_col, mask=h_ok[:, None] & r_ok[None, :], other=0.0)
    start = split * per_split
    end = tl.minimum(start + per_split, tokens)
    top = tl.full([BLOCK_H], float("-inf"), tl.float32)  # running max of the scores
    total = tl.zeros([BLOCK_H], tl.float32)  # running sum of exp(score - top)
    acc = tl.zeros([BLOCK_H, BLOCK_V], tl.float32)
    for first in range(start, end, BLOCK_N):
        t = first + tl.arange(0, BLOCK_N)
        t_ok = t < end  # every tile has a row inside its split, so `top` is finite after it
        tile = rows + b.to(tl.int64) * r_batch + t.to(tl.int64)[:, None] * r_token
        values = tl.load(tile + v_cols[None, :] * r_col, mask=t_ok[:, None] & v_ok[None, :], other=0.0)
        rest = tl.load(tile + (d_value + r_cols[None, :]) * r_col, mask=t_ok[:, None] & r_ok[None, :], other=0.0)
        scores = tl.dot(q_v, tl.trans(values), input_precision=PRECISION)
        scores += tl.dot(q_r, tl.trans(rest), input_precision=PRECISION)
        scores = tl.where(t_ok[None, :], scores * scale, float("-inf"))
        new_top = tl.maximum(top, tl.max(scores, 1))
        shrink = tl.exp(top - new_top)
        p = tl.exp(scores - new_top[:, None])
        total = total * shrink + tl.sum(p, 1)
        acc = acc * shrink[:, None] + tl.dot(p.to(values.dtype), values, input_precision=PRECISION)
        top = new_top
    out = (b * heads + h) * splits + split  # partial is (batch, heads, splits, d_value), lse without d_value
    out_ok = h_ok[:, None] & v_ok[None, :]
    tl.store(partial + out[:, None] * d_value + v_cols[None, :], acc / total[:, None], mask=out_ok)
    tl.store(lse + out, top + tl.log(total), mask=h_ok)


@triton.jit
def _combine_splits(partial, lse, out, splits, d_value, BLOCK_S: tl.constexpr, BLOCK_C: tl.constexpr):
    # One program per (batch * heads + head, block of BLOCK_C columns); out is (batch, heads, d_value),
    # contiguous. Every split is loaded at once: a loop over the splits issued one dependent load after
    # another, 128 of them at 65k tokens, where the splits' reads had taken a few microseconds.
    row, block = tl.program_id(0), tl.program_id(1)
    s = tl.arange(0, BLOCK_S)
    cols = block * BLOCK_C + tl.arange(0, BLOCK_C)
    s_ok, ok = s < splits, cols < d_value
    scores = tl.load(lse + row * splits + s, mask=s_ok, other=float("-inf"))
    weights = tl.exp(scores - tl.max(scores, 0))
    parts = tl.load(
        partial + (row * splits + s)[:, None] * d_value + cols[None, :], mask=s_ok[:, None] & ok[None, :], other=0.0
    )
    mixed = tl.sum(weights[:, None] * parts, 0) / tl.sum(weights, 0)
    tl.store(out + row * d_value + cols, mixed.to(out.dtype.element_ty), mask=ok)


def launch(
    query: Tensor,
    rest: Tensor,
    rows: Tensor,
    scale: float,
    splits: int,
    per_split: int,
    block_h: int,
    block_n: int,
    num_warps: int = 8,
    num_stages: int = 2,
) -> Tensor:
    """Both kernels, over `splits` splits of `per_split` rows (a multiple of `block_n`, none empty), with
    `block_h` heads to a program; query (batch, heads, d_value) and rest (batch, heads, width - d_value)
    are the two parts of the query."""
    batch, heads, d_value = query.shape
    width = rows.shape[-1]
    tokens = rows.shape[1]
    head_blocks = triton.cdiv(heads, block_h)
    block_v = max(16, triton.next_power_of_2(d_value))  # tl.dot takes blocks of at least 16
    partial = torch.empty(batch, heads, splits, d_value, device=rows.device, dtype=torch.float32)
    lse = torch.empty(batch, heads, splits, device=rows.device, dtype=torch.float32)
    out = torch.empty(batch, heads, d_value, device=rows.device, dtype=query.dtype)
    _attend_split[(head_blocks, splits, batch)](
        query, rest, rows, partial, lse, *query.stride(), *rest.stride(), *rows.stride(),
        heads, tokens, per_split, splits, d_value, width - d_value, scale,
        BLOCK_H=block_h, BLOCK_N=block_n,
        BLOCK_V=block_v, BLOCK_R=max(16, triton.next_power_of_2(width - d_value)),
        # float32 as float32 (PyTorch's default for float32 products), not as tf32
        PRECISION="ieee" if query.dtype == torch.float32 else "tf32",
        # Compiled offline for sm_90 (Triton 3.6), 16 heads a program: with 8 warps neither bfloat16 (96
        # registers) nor float32 (92) spilled; with 4, float32 spilled 8 KB a thread. 2 stages: the next
        # tile is in flight. benchmarks/gpu/latent_tune.py times the alternatives on a GPU.
        num_warps=num_warps, num_stages=num_stages,
    )  # fmt: skip
    # 64 columns of every split in a program: at most 128 x 64 float32 partial sums, 64 a thread.
    block_s, block_c = max(16, triton.next_power_of_2(splits)), min(64, block_v)
    _combine_splits[(batch * heads, triton.cdiv(d_value, block_c))](
        partial, lse, out, splits, d_value, BLOCK_S=block_s, BLOCK_C=block_c
    )
    return out
