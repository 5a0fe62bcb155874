"""FLOP counting that is right for fused attention kernels, grouped-query attention included.

torch's FlopCounterMode counts SDPA only for some kernels: on CPU the fused
``_scaled_dot_product_flash_attention_for_cpu`` is not in its table (counted as 0 FLOPs, so every
attention model's step looked constant), and on CUDA its formula asserts that query, key and value
have the same number of heads, which grouped- and multi-query attention break. This module registers
one formula for every fused kernel: a query of Lq positions against Lk keys costs
2·B·Hq·Lq·Lk·(E + Ev) FLOPs (the score product and the value product; the softmax is not counted, as
torch counts none for explicit softmax either), whatever the number of key-value heads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

Shape = Sequence[int]


def attention_flops(query: Shape, key: Shape, value: Shape) -> int:
    """FLOPs of softmax(Q Kᵀ) V for (batch, heads, length, dim) shapes; key/value heads may be fewer."""
    *batch_q, heads, length_q, dim = query
    *_, length_k, _ = key
    *_, dim_v = value
    batch = 1
    for size in batch_q:
        batch *= size
    return 2 * batch * heads * length_q * length_k * (dim + dim_v)


def _fused(query: Shape, key: Shape, value: Shape, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    return attention_flops(query, key, value)


def _fused_sequence_first(
    query: Shape, key: Shape, value: Shape, *args: Any, out_shape: Any = None, **kwargs: Any
) -> int:
    # The kernels under SDPA take (batch, length, heads, dim); packed variable-length inputs have no batch
    # axis and are counted as one sequence of all their tokens.
    def heads_first(shape: Shape) -> list[int]:
        *batch, length, heads, dim = shape
        return [*batch, heads, length, dim]

    return attention_flops(heads_first(query), heads_first(key), heads_first(value))


def _fused_kernels() -> list[Any]:
    aten = torch.ops.aten
    names = (
        "_scaled_dot_product_flash_attention_for_cpu",
        "_scaled_dot_product_flash_attention",
        "_scaled_dot_product_efficient_attention",
        "_scaled_dot_product_cudnn_attention",
        "_scaled_dot_product_fused_attention_overrideable",
    )
    # FlopCounterMode looks formulas up by overload packet, not by overload.
    return [getattr(aten, name) for name in names if hasattr(aten, name)]


def _sequence_first_kernels() -> list[Any]:
    aten = torch.ops.aten
    names = ("_flash_attention_forward", "_efficient_attention_forward")
    return [getattr(aten, name) for name in names if hasattr(aten, name)]


def counting_mode() -> FlopCounterMode:
    """A FlopCounterMode that counts fused attention kernels with :func:`attention_flops`."""
    mapping = dict.fromkeys(_fused_kernels(), _fused) | dict.fromkeys(_sequence_first_kernels(), _fused_sequence_first)
    return FlopCounterMode(display=False, custom_mapping=mapping)
