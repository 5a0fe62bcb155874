"""Latent attention, MLA's absorbed step (src/archclass/reference/_latent_decode.py and its Triton kernels).

The kernels are checked on CPU through Triton's interpreter (TRITON_INTERPRET=1, which Triton reads
when a kernel is decorated, so in a fresh process: set in this one, it would also turn the kernels of
any CUDA test after it into interpreted ones). The CUDA tests run where there is a GPU and triton.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

import archclass  # noqa: E402
from archclass.probe.measure import StepCounter  # noqa: E402
from archclass.reference._latent_decode import (  # noqa: E402
    MAX_SPLITS,
    MIN_SPLIT_TOKENS,
    PROGRAMS_PER_SM,
    TOKENS_PER_TILE,
    fused_latent_attention,
    heads_per_program,
    latent_attention,
    plain_latent_attention,
    split_plan,
)

HAS_TRITON = importlib.util.find_spec("triton") is not None
SRC = str(Path(archclass.__file__).resolve().parents[1])
H200_SMS = 132


def _inputs(
    batch: int, heads: int, d_value: int, d_rope: int, tokens: int, dtype: torch.dtype = torch.float64, device="cpu"
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """A query, cache rows that are the first `tokens` slots of a buffer with spare ones (as MLA keeps
    them; the spare slots hold NaN, so reading one shows), and a scale that makes the softmax peaked."""
    generator = torch.Generator().manual_seed(tokens + 7 * heads + d_value)
    width = d_value + d_rope
    query = torch.randn(batch, heads, width, generator=generator, dtype=torch.float64)
    buffer = torch.randn(batch, tokens + 9, width, generator=generator, dtype=torch.float64)
    buffer[:, tokens:] = float("nan")
    query, buffer = query.to(device=device, dtype=dtype), buffer.to(device=device, dtype=dtype)
    return query, buffer[:, :tokens], 3 * width**-0.5


def _two_products(query: torch.Tensor, rows: torch.Tensor, d_value: int, scale: float) -> torch.Tensor:
    return torch.softmax(scale * query @ rows.transpose(-1, -2), -1) @ rows[..., :d_value]


@pytest.mark.parametrize("tokens", [1, 7, 130, 5000])  # 5000: past mix_values' block of 4096
@pytest.mark.parametrize(("heads", "d_value", "d_rope"), [(2, 8, 4), (32, 32, 8)])
def test_on_cpu_equals_the_two_products(tokens: int, heads: int, d_value: int, d_rope: int) -> None:
    query, rows, scale = _inputs(2, heads, d_value, d_rope, tokens)
    assert not rows.is_contiguous()
    expected = _two_products(query, rows, d_value, scale)
    torch.testing.assert_close(latent_attention(query, rows, d_value, scale), expected, rtol=1e-12, atol=1e-12)


def test_keeps_the_query_dtype() -> None:
    query, rows, scale = _inputs(1, 4, 32, 8, 50)
    y = latent_attention(query.bfloat16(), rows.bfloat16(), 32, scale)
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y.double(), _two_products(query, rows, 32, scale), rtol=3e-2, atol=3e-2)


def test_an_empty_cache_or_mismatched_widths_are_refused() -> None:
    query, rows, scale = _inputs(1, 2, 8, 4, 0)
    with pytest.raises(ValueError, match="at least one cache row"):
        latent_attention(query, rows, 8, scale)
    query, rows, scale = _inputs(1, 2, 8, 4, 5)
    with pytest.raises(ValueError, match="one width >= d_value"):
        latent_attention(query[..., :-1], rows, 8, scale)
    with pytest.raises(ValueError, match="one width >= d_value"):
        latent_attention(query, rows, 13, scale)


ON_CUDA = pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"))


@pytest.mark.parametrize("device", ["cpu", ON_CUDA])
def test_a_dispatch_mode_counts_both_products(device: str) -> None:
    """The probe counts a step under a TorchDispatchMode, which cannot see a Triton kernel: there the
    products run as aten calls, 2 * T * (width + d_value) FLOPs a head."""
    batch, heads, d_value, d_rope, tokens = 2, 4, 32, 8, 300
    query, rows, scale = _inputs(batch, heads, d_value, d_rope, tokens, torch.float32, device)
    with StepCounter() as counter:
        latent_attention(query, rows, d_value, scale)
    assert counter.flops == 2 * batch * heads * tokens * (d_value + d_rope + d_value)


@pytest.mark.parametrize("programs_per_split", [1, 2, 4, 64, 264, 1000])
def test_splits_cover_the_cache_in_whole_tiles_with_none_empty(programs_per_split: int) -> None:
    for tokens in [*range(1, 3000), 65_536, 131_072, 1_000_003]:
        splits, per_split = split_plan(tokens, programs_per_split, H200_SMS)
        assert 1 <= splits <= MAX_SPLITS
        assert per_split % TOKENS_PER_TILE == 0
        assert (splits - 1) * per_split < tokens <= splits * per_split, (tokens, splits, per_split)
        assert splits == 1 or per_split >= MIN_SPLIT_TOKENS


def test_a_long_cache_fills_the_gpu() -> None:
    """At the H200's 65k-token benchmark (one batch row, 32 heads in one program) the splits give each
    SM the planned number of programs, or hit the cap."""
    assert heads_per_program(32) == 32 and heads_per_program(2) == 16 and heads_per_program(128) == 32
    splits, _ = split_plan(65_536, 1, H200_SMS)
    assert splits == MAX_SPLITS or splits >= PROGRAMS_PER_SM * H200_SMS
    # 128 heads, four programs a split; whole tiles round the count of splits down a little (64 for 66)
    assert split_plan(65_536, 4, H200_SMS)[0] * 4 >= 0.95 * PROGRAMS_PER_SM * H200_SMS
    # and a short one is not cut finer than MIN_SPLIT_TOKENS
    short = (255, 512, 4096)
    assert [split_plan(t, 1, H200_SMS)[0] for t in short] == [t // MIN_SPLIT_TOKENS for t in short]


def test_the_launch_depends_on_shapes_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CUDA graph replays the launch it captured, so the launch may depend neither on the cache's
    contents nor on the capacity of the buffer it lies in; only on its shapes. (The kernels module is
    replaced by one that records the launch, so this runs without triton.)"""
    launches = []
    recorder = type(sys)("archclass.reference._latent_decode_kernels")
    recorder.launch = lambda query, rest, rows, *plan: launches.append((rows.shape, plan))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, recorder.__name__, recorder)
    for capacity, seed in [(4096, 0), (4096, 1), (8192, 2)]:
        buffer = torch.randn(1, capacity, 576, generator=torch.Generator().manual_seed(seed))
        fused_latent_attention(torch.randn(1, 32, 576), buffer[:, :3000], 512, 0.04, sm_count=H200_SMS)
    fused_latent_attention(torch.randn(1, 32, 576), buffer[:, :3001], 512, 0.04, sm_count=H200_SMS)
    assert launches[0] == launches[1] == launches[2] != launches[3]


_INTERPRETED = textwrap.dedent(
    """
    import sys
    import torch
    import triton.runtime.interpreter as interpreter

    # Triton 3.6's interpreter turns a loop bound into an int with int() of a one-element array, which
    # numpy 2.4 refuses (triton-lang/triton#9171, fixed after 3.6): take the element explicitly.
    if hasattr(interpreter, "_patch_lang_tensor"):
        patch_tensor = interpreter._patch_lang_tensor

        def patched(tensor, scope):
            patch_tensor(tensor, scope)
            scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(())))

        interpreter._patch_lang_tensor = patched

    from archclass.reference._latent_decode import fused_latent_attention
    from test_latent_decode import CASES, H200_SMS, _inputs

    results = {}
    for case in CASES:
        batch, heads, d_value, d_rope, tokens, dtype = case
        query, rows, scale = _inputs(batch, heads, d_value, d_rope, tokens, getattr(torch, dtype))
        results[case] = fused_latent_attention(query, rows, d_value, scale, sm_count=H200_SMS)
        # the query's two parts as two tensors of their own (MLA's step hands them over apart)
        apart = query[..., :d_value].clone(), query[..., d_value:].clone()
        results[(*case, "apart")] = fused_latent_attention(apart[0], rows, d_value, scale, H200_SMS, apart[1])
    torch.save(results, sys.argv[1])
    """
)

# (batch, heads, d_value, d_rope, tokens, dtype). 20 heads: a second, partly masked head block;
# 1000 and 3000 tokens: 3 and 11 splits, the last one short.
CASES = [
    (batch, heads, d_value, d_rope, tokens, "float32")
    for heads, d_value, d_rope in [(2, 8, 4), (4, 32, 8), (32, 512, 64)]
    for tokens in (1, 7, 100, 1000)
    for batch in (1, 2)
] + [
    (1, 20, 32, 8, 100, "float32"),
    (2, 2, 512, 4, 1000, "float32"),
    (1, 32, 8, 64, 100, "float32"),
    (2, 4, 32, 8, 3000, "float32"),
    (2, 4, 32, 8, 1000, "float16"),
]


@pytest.fixture(scope="module")
def interpreted(tmp_path_factory) -> dict:
    pytest.importorskip("triton", reason="triton is optional: pip install triton to test the kernels")
    out = tmp_path_factory.mktemp("interpreted") / "results.pt"
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": os.pathsep.join([SRC, str(Path(__file__).parent)])}
    done = subprocess.run(
        [sys.executable, "-c", _INTERPRETED, str(out)], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return torch.load(out)


@pytest.mark.parametrize("case", CASES, ids=lambda case: "-".join(map(str, case)))
def test_the_kernels_interpreted_match_the_formula(interpreted: dict, case: tuple) -> None:
    batch, heads, d_value, d_rope, tokens, dtype = case
    query, rows, scale = _inputs(batch, heads, d_value, d_rope, tokens, getattr(torch, dtype))
    tol = 1e-4 if dtype == "float32" else 2e-3
    expected = plain_latent_attention(query.float(), rows.float(), d_value, scale)
    for fused in (interpreted[case], interpreted[(*case, "apart")]):
        assert fused.dtype == query.dtype and fused.shape == (batch, heads, d_value)
        torch.testing.assert_close(fused.float(), expected, rtol=tol, atol=tol * 0.1)


cuda = pytest.mark.skipif(not (torch.cuda.is_available() and HAS_TRITON), reason="needs a CUDA device and triton")


@cuda
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("tokens", [1, 1000, 65_536])
def test_on_cuda_the_kernels_match_the_formula(dtype: str, tokens: int) -> None:
    query, rows, scale = _inputs(2, 32, 512, 64, tokens, getattr(torch, dtype), "cuda")
    expected = _two_products(query.double(), rows.double(), 512, scale)
    tol = 1e-4 if dtype == "float32" else 3e-2
    torch.testing.assert_close(latent_attention(query, rows, 512, scale).double(), expected, rtol=tol, atol=tol * 0.1)


@cuda
def test_on_cuda_the_kernels_replay_in_a_graph() -> None:
    query, rows, scale = _inputs(1, 32, 512, 64, 5000, torch.bfloat16, "cuda")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        latent_attention(query, rows, 512, scale)  # compiles the kernels outside the capture
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        y = latent_attention(query, rows, 512, scale)
    query.copy_(torch.randn_like(query))
    rows.copy_(torch.randn_like(rows))
    graph.replay()
    expected = _two_products(query.double(), rows.double(), 512, scale)
    torch.testing.assert_close(y.double(), expected, rtol=3e-2, atol=3e-3)
