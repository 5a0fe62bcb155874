"""The recall sweep: configurations x seeds, in parallel, aggregated and checked against the bound."""

from __future__ import annotations

import json
import math
import os
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from archclass.errors import ArchclassError
from archclass.recall.model import RecallLM
from archclass.recall.mqar import MQARConfig, generate
from archclass.recall.train import TrainConfig, train
from archclass.reference import ReferenceSpec, catalog


def width_for_state_bytes(spec: ReferenceSpec, target_bytes: float, base: TrainConfig, bytes_per_scalar: int) -> int:
    """The d_model (a multiple of 16) whose model state at base.seq_len is closest to target_bytes."""
    sample = generate(MQARConfig(base.vocab, max(base.pairs), base.seq_len), 1, 0).inputs
    best, best_gap = 16, math.inf
    for width in range(16, 1025, 16):
        try:
            model = RecallLM(
                spec, MQARConfig(base.vocab, 1, base.seq_len).total_vocab, width, base.n_layers, **base.overrides
            )
        except ValueError:  # a width the family cannot take (heads must divide it, say)
            continue
        scalars, _ = model.state_after(sample)
        gap = abs(scalars * bytes_per_scalar - target_bytes)
        if gap < best_gap:
            best, best_gap = width, gap
        elif scalars * bytes_per_scalar > target_bytes:
            break  # state grows with width: past the target, the gap only widens
    return best


def plan(
    archs: Sequence[str],
    widths: Sequence[int],
    seeds: int,
    base: TrainConfig,
    state_bytes: Sequence[float] = (),
) -> list[TrainConfig]:
    specs = catalog()
    configs = []
    for arch in archs:
        if arch not in specs:
            raise ArchclassError(f"no reference implementation {arch!r}; `archclass reference list` shows them")
        chosen = list(widths)
        if state_bytes:
            per_scalar = 2 if base.bf16 else 4
            chosen = sorted({width_for_state_bytes(specs[arch], b, base, per_scalar) for b in state_bytes})
        for width in chosen:
            for seed in range(seeds):
                configs.append(replace(base, arch=arch, d_model=width, seed=seed))
    return configs


def _run_one(config: TrainConfig) -> dict[str, Any]:
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // max(1, int(os.environ.get("ARCHCLASS_WORKERS", "1")))))
    return train(catalog()[config.arch], config).as_dict()


def run_configs(
    configs: list[TrainConfig], workers: int = 1, progress: Callable[[dict[str, Any]], None] | None = None
) -> list[dict[str, Any]]:
    """Train every configuration; several at once on one device when workers > 1 (spawned processes)."""
    results: list[dict[str, Any]] = []
    if workers <= 1:
        for config in configs:
            result = _run_one(config)
            results.append(result)
            if progress:
                progress(result)
        return results
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    os.environ["ARCHCLASS_WORKERS"] = str(workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_run_one, config) for config in configs]
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            if progress:
                progress(result)
    return results


def run_distributed(configs: list[TrainConfig], workers: int, progress: Any = None) -> list[dict[str, Any]] | None:
    """Under torchrun: rank r trains configs[r::world] on its own GPU; rank 0 gathers everything.

    Returns all results on rank 0 and None on the other ranks.
    """
    import torch.distributed as dist

    world = int(os.environ["WORLD_SIZE"])
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    dist.init_process_group("gloo")
    try:
        mine = [
            replace(c, device=f"cuda:{local_rank}" if c.device.startswith("cuda") else c.device)
            for c in configs[rank::world]
        ]
        results = run_configs(mine, workers, progress)
        gathered: list[Any] = [None] * world
        dist.all_gather_object(gathered, results)
    finally:
        dist.destroy_process_group()
    if rank != 0:
        return None
    return [result for shard in gathered for result in shard]


def aggregate(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and spread over seeds for each (architecture, width)."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        groups[(run["arch"], run["d_model"])].append(run)
    rows = []
    for (arch, width), members in sorted(groups.items()):
        capacities = [m["capacity"] for m in members]
        bounds = [m["bound_pairs"] for m in members if m["bound_pairs"] is not None]
        mean_capacity = statistics.fmean(capacities)
        bound = min(bounds) if bounds else None
        rows.append(
            {
                "arch": arch,
                "d_model": width,
                "seeds": len(members),
                "state_scalars": members[0]["state_scalars"],
                "state_bits": members[0]["state_bits"],
                "vocab": members[0]["vocab"],
                "seq_len": members[0]["seq_len"],
                "capacity_mean": mean_capacity,
                "capacity_std": statistics.pstdev(capacities) if len(capacities) > 1 else 0.0,
                "capacities": capacities,
                "bound_pairs": bound,
                "capacity_over_bound": (mean_capacity / bound) if bound else None,
                "tokens_per_second": statistics.fmean(m["tokens_per_second"] for m in members),
                "accuracy_mean": {
                    k: statistics.fmean(m["accuracy"][k] for m in members) for k in members[0]["accuracy"]
                },
            }
        )
    return rows


def violations(runs: list[dict[str, Any]]) -> list[str]:
    """Runs whose measured capacity exceeds their own bound: a bug in the state count, bound or task."""
    return [
        f"{r['arch']} d_model={r['d_model']} seed={r['seed']}: capacity {r['capacity']} > bound {r['bound_pairs']:.4g}"
        for r in runs
        if r["bound_pairs"] is not None and r["capacity"] > r["bound_pairs"]
    ]


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| architecture | d_model | state scalars | state bits | V | capacity (mean ± sd, seeds) | bound "
        "| capacity / bound | tokens/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        bound = f"{r['bound_pairs']:.4g}" if r["bound_pairs"] is not None else "-"
        ratio = f"{r['capacity_over_bound']:.2e}" if r["capacity_over_bound"] is not None else "-"
        lines.append(
            f"| {r['arch']} | {r['d_model']} | {r['state_scalars']:,} | {r['state_bits']:,} | {r['vocab']} | "
            f"{r['capacity_mean']:.1f} ± {r['capacity_std']:.1f} ({r['seeds']}) | {bound} | {ratio} | "
            f"{r['tokens_per_second']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def plot(
    rows: list[dict[str, Any]], path: Path, attention: Sequence[str] = ("softmax-attention", "gqa", "mqa")
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6.5))
    by_arch: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_arch[row["arch"]].append(row)
    bits = [r["state_bits"] for r in rows]
    if bits:
        low, high = min(bits) / 2, max(bits) * 2
        vocab = rows[0]["vocab"]
        xs = [low * (high / low) ** (i / 50) for i in range(51)]
        accuracy = 0.9
        ax.loglog(
            xs,
            [x / (accuracy * math.log2(vocab) - 1) for x in xs],
            "k-",
            linewidth=1.5,
            label=f"bound K = n·p / (A·log2 V − 1), A = {accuracy}, V = {vocab}",
        )
    for arch, members in sorted(by_arch.items()):
        members.sort(key=lambda r: r["state_bits"])
        marker = "s" if arch in attention else "o"
        xs = [r["state_bits"] for r in members]
        ys = [max(r["capacity_mean"], 0.5) for r in members]
        errors = [r["capacity_std"] for r in members]
        label = arch + (" (state grows with T)" if arch in attention else "")
        ax.errorbar(
            xs, ys, yerr=errors, marker=marker, linestyle="--" if arch in attention else "-", capsize=3, label=label
        )
    ax.set_xlabel("state size n·p (bits, all layers, at the sequence length used)")
    ax.set_ylabel("recall capacity K at accuracy ≥ 0.9 (mean over seeds; 0 drawn at 0.5)")
    ax.set_title("MQAR recall capacity against the information-theoretic bound")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_results(
    out_dir: Path, runs: list[dict[str, Any]], meta: dict[str, Any], figure: bool = True
) -> list[dict[str, Any]]:
    rows = aggregate(runs)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps({"meta": meta, "summary": rows, "runs": runs}, indent=1) + "\n")
    header = (
        f"Command: `{meta['command']}`  \nDate: {meta['date']}  \nDevice: {meta['device']}  \n"
        f"Accuracy target A = {meta['target_accuracy']}; capacity = largest K with mean accuracy ≥ A.\n\n"
    )
    (out_dir / "results.md").write_text(header + markdown_table(rows))
    if figure:
        plot(rows, out_dir / "capacity.png")
    return rows
