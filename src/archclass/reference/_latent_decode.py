"""Attention of many query heads over one shared row per token, the absorbed step of latent attention:

    y = softmax(scale * query @ rows^T) @ rows[..., :d_value]

query (batch, heads, d), rows (batch, T, d), y (batch, heads, d_value). The keys are whole rows and the
values are their first d_value columns, so a kernel that reads each row once for both saves half of
the traffic of two products. On CUDA, with triton installed, a split-KV kernel (flash-decoding's
scheme, the layout of DeepSeek's FlashMLA) does that in two launches (_latent_decode_kernels); elsewhere
the plain formula runs. Triton is optional and imported only when the kernel first runs.
"""

from __future__ import annotations

import functools
import importlib.util

import torch
from torch import Tensor

from archclass.reference._ops import mix_values, under_counter

MAX_HEADS_PER_PROGRAM = 32
"""Query heads a kernel program scores together, at most: all of them up to 32, so each cache tile is
read by one program (16 a program read every tile twice at 32 heads, and the H200 ran the split kernel at
1.1 TB/s); tl.dot needs at least 16 rows."""
TOKENS_PER_TILE = 32
"""Cache rows a program loads at a time: 32 x 576 bfloat16 (d_latent 512 + d_rope 64) is 36 KiB."""
PROGRAMS_PER_SM = 2
"""Programs the splits aim to give each SM, so the cache streams in through every SM at once; the
compiled kernel (sm_90: 96 registers x 256 threads, 56 KiB of shared memory) fits two to an SM."""
MAX_SPLITS = 128
"""Each split writes one float32 partial output per head, which the second launch reads back."""
MIN_SPLIT_TOKENS = 64
"""Splits are at least this long (unless there is one), so that the partial outputs they write
(heads x d_value floats each) stay small next to the rows they read. At 256, a 1,024-token cache ran
as 4 splits on 4 SMs, and took 24 us on the H200 for 1.2 MB."""


def latent_attention(query: Tensor, rows: Tensor, d_value: int, scale: float, rest: Tensor | None = None) -> Tensor:
    """softmax(scale * query @ rows.mT) @ rows[..., :d_value], in query's dtype. rows may be a slice of
    a larger buffer along T (any strides); it is never copied. With `rest`, query holds the first
    d_value columns of the query and rest the others: a caller that makes the parts apart need not join
    them (one kernel less a step)."""
    if rest is not None:
        if query.shape[-1] != d_value:
            raise ValueError(f"with rest, the query is its first d_value columns: {query.shape[-1]} != {d_value}")
        width = d_value + rest.shape[-1]
    else:
        width = query.shape[-1]
    if rows.shape[1] == 0:
        raise ValueError("latent attention needs at least one cache row")
    if width != rows.shape[-1] or not 0 < d_value <= rows.shape[-1]:
        raise ValueError(f"query and rows need one width >= d_value: {width}, {rows.shape[-1]}, {d_value}")
    if _use_kernel(query, rows):
        return fused_latent_attention(query, rows, d_value, scale, _sm_count(rows.device), rest)
    if rest is not None:
        query = torch.cat([query, rest], dim=-1)
    return plain_latent_attention(query, rows, d_value, scale)


def heads_per_program(heads: int) -> int:
    """All the heads in one program up to MAX_HEADS_PER_PROGRAM, in a power of two of at least 16."""
    return max(16, min(MAX_HEADS_PER_PROGRAM, 1 << (heads - 1).bit_length()))


def fused_latent_attention(
    query: Tensor, rows: Tensor, d_value: int, scale: float, sm_count: int, rest: Tensor | None = None
) -> Tensor:
    """The Triton kernels' latent attention, its splits planned for a GPU of `sm_count` SMs."""
    from archclass.reference._latent_decode_kernels import launch

    if rest is None:
        query, rest = query[..., :d_value], query[..., d_value:]
    batch, heads, _ = query.shape
    block_h = heads_per_program(heads)
    splits, per_split = split_plan(rows.shape[1], batch * -(-heads // block_h), sm_count)
    return launch(query, rest, rows, scale, splits, per_split, block_h, TOKENS_PER_TILE)


def plain_latent_attention(query: Tensor, rows: Tensor, d_value: int, scale: float) -> Tensor:
    """The formula as two products; the long sum over T runs in blocks added in float32 (mix_values)."""
    p = ((query * scale) @ rows.mT).softmax(-1)  # (batch, heads, T)
    return mix_values(p, rows[..., :d_value])


def _use_kernel(query: Tensor, rows: Tensor) -> bool:
    # Under a dispatch mode (the probe's FLOP and byte counters) the operations must be aten calls:
    # a Triton launch is invisible to the mode, so the step would count as nearly free. The kernel has
    # no backward, so autograd takes the formula too; float64 is not worth a kernel.
    return (
        rows.is_cuda
        and query.dtype == rows.dtype != torch.float64
        and not under_counter()
        and not (torch.is_grad_enabled() and (query.requires_grad or rows.requires_grad))
        and _triton_installed()
    )


@functools.cache
def _triton_installed() -> bool:
    return importlib.util.find_spec("triton") is not None


@functools.cache
def _sm_count(device: torch.device) -> int:
    return torch.cuda.get_device_properties(device).multi_processor_count


def split_plan(tokens: int, programs_per_split: int, sm_count: int) -> tuple[int, int]:
    """(splits, tokens per split) for a cache of `tokens` rows when each split runs as
    `programs_per_split` programs (batch x head blocks). A function of shapes alone, so a CUDA graph
    captured at one length replays the same launch. Splits are whole tiles long and none is empty."""
    wanted = -(-PROGRAMS_PER_SM * sm_count // programs_per_split)
    splits = max(1, min(MAX_SPLITS, wanted, tokens // MIN_SPLIT_TOKENS))
    per_split = -(-tokens // splits)
    per_split = -(-per_split // TOKENS_PER_TILE) * TOKENS_PER_TILE
    return -(-tokens // per_split), per_split
