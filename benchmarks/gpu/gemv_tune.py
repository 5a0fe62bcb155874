"""Time a decode step's weight products at batch 1 (GEMV) several ways on the GPU.

At the llama-3-8b size the two products of MQA's step take 12.3 and 10.9 us on the H200 (2.9 and
3.1 TB/s), each followed by a split-K reduction kernel (results/probe/session-4/step_profile.log):
more than the cache at 65k tokens. This times, for the weight shapes of the MQA and MLA steps and
replayed as CUDA graphs: F.linear on the (out, in) weight nn.Linear keeps, a product with the weight
stored (in, out), torch.mv, and a plain Triton GEMV at a few block sizes, with the bandwidth each makes
of its weight.

    python benchmarks/gpu/gemv_tune.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
from functools import partial
from pathlib import Path
from typing import Any


def _graph_time(run: Any, repeats: int = 30) -> float:
    import torch

    run()
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        run()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e3)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F
    import triton
    import triton.language as tl

    @triton.jit
    def gemv(weight, x, y, rows_total, cols_total, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
        rows = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
        acc = tl.zeros([BLOCK_N], tl.float32)
        for first in range(0, cols_total, BLOCK_K):
            cols = first + tl.arange(0, BLOCK_K)
            w = tl.load(weight + rows[:, None] * cols_total + cols[None, :], mask=rows[:, None] < rows_total)
            acc += tl.sum(w.to(tl.float32) * tl.load(x + cols).to(tl.float32)[None, :], 1)
        tl.store(y + rows, acc.to(y.dtype.element_ty), mask=rows < rows_total)

    def triton_gemv(weight: Any, x: Any, out: Any, block_n: int, block_k: int, warps: int) -> None:
        rows_total, cols_total = weight.shape
        grid = (triton.cdiv(rows_total, block_n),)
        gemv[grid](weight, x, out, rows_total, cols_total, BLOCK_N=block_n, BLOCK_K=block_k, num_warps=warps)

    device = torch.device("cuda")
    # (out, in): MQA's qkv and output products, MLA's input product (d + h r + r + c)
    shapes = {"mqa qkv": (4352, 4096), "out": (4096, 4096), "mla input": (6720, 4096)}
    rows_out = []
    for name, (n_out, n_in) in shapes.items():
        torch.manual_seed(0)
        weight = torch.randn(n_out, n_in, device=device, dtype=torch.bfloat16)
        weight_t = weight.t().contiguous()
        x = torch.randn(1, n_in, device=device, dtype=torch.bfloat16)
        out = torch.empty(n_out, device=device, dtype=torch.bfloat16)
        megabytes = weight.numel() * 2 / 1e6
        variants: dict[str, Any] = {
            "F.linear (out, in)": partial(F.linear, x, weight),
            "x @ W (in, out)": partial(torch.matmul, x, weight_t),
            "torch.mv": partial(torch.mv, weight, x[0]),
        }
        for block_n in (4, 8, 16, 32):
            for block_k in (256, 512, 1024):
                for warps in (4, 8):
                    key = f"triton n{block_n} k{block_k} w{warps}"
                    variants[key] = partial(triton_gemv, weight, x[0], out, block_n, block_k, warps)
        reference = F.linear(x, weight)[0].float()
        for label, run in variants.items():
            try:
                us = _graph_time(run)
            except Exception as error:
                print(f"{name:9} {label}: failed ({type(error).__name__})", flush=True)
                continue
            if label.startswith("triton"):
                torch.testing.assert_close(out.float(), reference, rtol=2e-2, atol=2e-1)
            rows_out.append({"shape": name, "variant": label, "us": us, "TB/s": megabytes / us})
            print(f"{name:9} {label:28} {us:7.2f} us  {megabytes / us:5.2f} TB/s", flush=True)
    print("\nbest per shape:")
    for name in shapes:
        best = min((r for r in rows_out if r["shape"] == name), key=lambda r: r["us"])
        print(f"  {name}: {best['variant']} {best['us']:.2f} us ({best['TB/s']:.2f} TB/s)")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gemv_tune.json").write_text(json.dumps(rows_out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
