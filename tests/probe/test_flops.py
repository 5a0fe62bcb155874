"""Fused attention counted like its explicit form, on CPU and (when present) CUDA, GQA and MQA included."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.probe.flops import attention_flops, counting_mode  # noqa: E402

F = torch.nn.functional
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _explicit(q, k, v):
    groups = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
    scores = (q @ k.transpose(-1, -2)) / q.shape[-1] ** 0.5
    return scores.softmax(-1) @ v


def _count(fn, *args):
    mode = counting_mode()
    with mode:
        fn(*args)
    return mode.get_total_flops()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])  # on CUDA, bfloat16 selects the flash kernels
@pytest.mark.parametrize(
    ("heads", "kv_heads", "lq", "lk"), [(4, 4, 1, 37), (8, 2, 1, 64), (8, 1, 5, 5), (4, 4, 16, 16)]
)
def test_fused_attention_counts_the_same_flops_as_the_explicit_form(device, dtype, heads, kv_heads, lq, lk):
    q, k, v = (
        torch.randn(2, n, length, 16, device=device, dtype=getattr(torch, dtype))
        for n, length in ((heads, lq), (kv_heads, lk), (kv_heads, lk))
    )
    fused = _count(lambda *a: F.scaled_dot_product_attention(*a, enable_gqa=heads != kv_heads), q, k, v)
    explicit = _count(_explicit, q, k, v)
    assert fused == explicit == attention_flops(q.shape, k.shape, v.shape)


def test_a_decode_step_costs_more_the_longer_the_cache():
    q = torch.randn(1, 4, 1, 16)
    costs = [
        _count(F.scaled_dot_product_attention, q, torch.randn(1, 4, n, 16), torch.randn(1, 4, n, 16)) for n in (8, 64)
    ]
    assert costs[1] == 8 * costs[0] > 0
