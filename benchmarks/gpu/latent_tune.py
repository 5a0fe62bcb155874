"""Time the latent-attention kernels (reference/_latent_decode_kernels.py) over launch configurations.

For MLA's shape at the llama-3-8b size (32 heads, a 512 + 64 cache row) and for MQA's (32 query heads
over one kv head of 128, as rows [v ; k] scored by a query [0 ; q]), at each length: the time of both
launches, replayed as a CUDA graph, for heads per program, tokens per tile, warps, stages and the
shortest split, and the bandwidth that makes of the cache. For MQA the fused SDPA kernel the reference
uses now (enable_gqa) is timed beside it. The best configuration per length is printed last.

    python benchmarks/gpu/latent_tune.py [--lengths 1024,8192,65536] [--out DIR]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
from functools import partial
from pathlib import Path
from typing import Any


def _graph_time(run: Any, repeats: int = 20) -> float:
    import torch

    run()  # compiles outside the capture
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
    parser.add_argument("--lengths", default="1024,8192,65536")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    from archclass.reference._latent_decode import MAX_SPLITS, _sm_count
    from archclass.reference._latent_decode_kernels import launch

    device = torch.device("cuda")
    sms = _sm_count(device)
    shapes = {"mla": (32, 512, 64), "mqa": (32, 128, 128)}  # heads, d_value, d_rest
    # (heads a program, tokens a tile, warps, stages, shortest split); the last is the launch the H200
    # ran on 2026-12-03 (the split kernel at 1.1 TB/s)
    grid = [*itertools.product((16, 32), (32, 64), (4, 8), (2, 3), (64,)), (16, 32, 8, 2, 256)]
    rows_out = []
    for (name, (heads, d_value, d_rest)), length in itertools.product(
        shapes.items(), (int(t) for t in args.lengths.split(","))
    ):
        torch.manual_seed(0)
        rows = torch.randn(1, length, d_value + d_rest, device=device, dtype=torch.bfloat16)
        query = torch.randn(1, heads, d_value, device=device, dtype=torch.bfloat16)
        rest = torch.randn(1, heads, d_rest, device=device, dtype=torch.bfloat16)
        megabytes = rows.numel() * 2 / 1e6
        if name == "mqa":
            query.zero_()  # [0 ; q] scores the keys (the rest) only; the values are the first d_value
            q = rest.unsqueeze(2)  # (1, heads, 1, d)
            k = rows[..., d_value:].unsqueeze(1)
            v = rows[..., :d_value].unsqueeze(1)
            us = _graph_time(partial(F.scaled_dot_product_attention, q, k, v, enable_gqa=True))
            rows_out.append({"shape": name, "T": length, "config": "sdpa enable_gqa", "us": us})
            print(f"{name} T={length:>6} sdpa enable_gqa: {us:7.1f} us  {megabytes / us:5.2f} TB/s", flush=True)
        for block_h, block_n, warps, stages, shortest in grid:
            programs = -(-heads // block_h)
            wanted = -(-2 * sms // programs)
            splits = max(1, min(MAX_SPLITS, wanted, length // shortest))
            per_split = -(-length // splits)
            per_split = -(-per_split // block_n) * block_n  # whole tiles
            splits = -(-length // per_split)
            config = f"h{block_h} n{block_n} w{warps} s{stages} min{shortest} ({splits} splits)"
            try:
                run = partial(launch, query, rest, rows, 0.05, splits, per_split, block_h, block_n, warps, stages)
                us = _graph_time(run)
            except Exception as error:  # out of shared memory or registers for this configuration
                print(f"{name} T={length:>6} {config}: failed ({type(error).__name__})", flush=True)
                continue
            rows_out.append({"shape": name, "T": length, "config": config, "us": us})
            print(f"{name} T={length:>6} {config}: {us:7.1f} us  {megabytes / us:5.2f} TB/s", flush=True)
    print("\nbest per shape and length:")
    for key in sorted({(r["shape"], r["T"]) for r in rows_out}):
        best = min((r for r in rows_out if (r["shape"], r["T"]) == key), key=lambda r: r["us"])
        print(f"  {key[0]} T={key[1]}: {best['config']} {best['us']:.1f} us")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "latent_tune.json").write_text(json.dumps(rows_out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
