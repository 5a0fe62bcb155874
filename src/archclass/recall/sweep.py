"""The recall sweep: configurations x seeds, in parallel, aggregated and checked against the bound."""

from __future__ import annotations

import functools
import json
import math
import os
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from archclass.errors import ArchclassError
from archclass.recall import files
from archclass.recall.model import RecallLM
from archclass.recall.mqar import MQARConfig, generate
from archclass.recall.train import BYTES_PER_SCALAR, TrainConfig, train
from archclass.reference import ReferenceSpec, catalog

_KNOB_RANGES: dict[str, tuple[int, int, int]] = {  # (smallest, largest, step) tried
    "d_model": (16, 1024, 16),
    "window": (1, 1 << 16, 1),
    "d_state": (1, 1024, 1),
    "n_features": (4, 4096, 4),
}


def state_scalars_at(spec: ReferenceSpec, base: TrainConfig, d_model: int, overrides: dict[str, Any]) -> int | None:
    """Scalars in the whole model's state after one sequence of base.seq_len tokens (None: not buildable)."""
    sample = generate(MQARConfig(base.vocab, max(base.pairs), base.seq_len), 1, 0).inputs
    try:
        model = RecallLM(
            spec,
            MQARConfig(base.vocab, 1, base.seq_len).total_vocab,
            d_model,
            base.n_layers,
            base.conv_width,
            overrides,
        )
    except ValueError:  # a width the family cannot take (heads must divide it, say)
        return None
    return model.state_after(sample)[0]


def size_for_state_bytes(
    spec: ReferenceSpec, target_bytes: float, base: TrainConfig, bytes_per_scalar: int
) -> tuple[int, dict[str, Any]]:
    """(d_model, overrides) whose model state at base.seq_len is closest to target_bytes.

    The family's knob (spec.size_knob) is searched by bisection, since every state grows monotonically
    with it; d_model stays at base.d_model when another knob is searched.
    """
    knob = spec.size_knob
    low, high, unit = _KNOB_RANGES[knob]
    if knob == "window":
        high = min(high, base.seq_len)  # a window longer than the sequence holds nothing more

    def config_for(value: int) -> tuple[int, dict[str, Any]]:
        if knob == "d_model":
            return value, dict(base.overrides)
        return base.d_model, {**base.overrides, knob: value}

    @functools.cache  # each value builds a model and reads its state; the search asks some twice
    def size(value: int) -> float:
        scalars = state_scalars_at(spec, base, *config_for(value))
        return math.inf if scalars is None else scalars * bytes_per_scalar

    candidates = list(range(low, high + 1, unit))
    lo, hi = 0, len(candidates) - 1
    while lo < hi:  # the first candidate whose state reaches the target
        mid = (lo + hi) // 2
        if size(candidates[mid]) >= target_bytes:
            hi = mid
        else:
            lo = mid + 1
    nearby = [c for c in candidates[max(0, lo - 1) : lo + 1] if size(c) < math.inf]
    if not nearby:
        raise ValueError(f"{spec.name}: no {knob} in {low}..{high} builds a model at d_model={base.d_model}")
    best = min(nearby, key=lambda c: abs(size(c) - target_bytes))
    return config_for(best)


def plan(
    archs: Sequence[str],
    widths: Sequence[int],
    seeds: int,
    base: TrainConfig,
    state_bytes: Sequence[float] = (),
    match_width: int | None = None,
) -> list[TrainConfig]:
    """Every configuration to train: architectures x (widths, or sizes matched to state_bytes) x seeds.

    With state_bytes, architectures whose state grows with T (full attention) cannot be matched to a
    fixed size and are trained at the given widths instead; families matched by another knob than the
    width (a window, a state dimension) keep d_model = match_width (default: the first width).
    """
    specs = catalog()
    configs = []
    for arch in archs:
        if arch not in specs:
            raise ArchclassError(f"no reference implementation {arch!r}; `archclass reference list` shows them")
        sizes = [(width, dict(base.overrides)) for width in widths]
        if state_bytes and not grows_with_length(specs[arch], base):
            matched = [
                size_for_state_bytes(specs[arch], b, replace(base, d_model=match_width or widths[0]), BYTES_PER_SCALAR)
                for b in state_bytes
            ]
            sizes = sorted({(w, tuple(sorted(o.items()))) for w, o in matched})  # type: ignore[misc]
            sizes = [(w, dict(o)) for w, o in sizes]  # type: ignore[arg-type]
        for width, overrides in sizes:
            for seed in range(seeds):
                configs.append(replace(base, arch=arch, d_model=width, seed=seed, overrides=overrides))
    return configs


def grows_with_length(spec: ReferenceSpec, base: TrainConfig) -> bool:
    """Whether this family's state at base's settings grows with sequence length (a KV cache)."""
    width = 64
    short = state_scalars_at(spec, replace(base, seq_len=max(4 * max(base.pairs), 64)), width, dict(base.overrides))
    long = state_scalars_at(spec, replace(base, seq_len=2 * max(4 * max(base.pairs), 64)), width, dict(base.overrides))
    return short is not None and long is not None and long > short


def run_key(run: TrainConfig | dict[str, Any]) -> tuple[Any, ...]:
    """What identifies a run (or a planned configuration) within a sweep: see files.run_key."""
    return files.run_key(asdict(run) if isinstance(run, TrainConfig) else run)


def _run_one(config: TrainConfig, verbose: bool = False) -> dict[str, Any]:
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // max(1, int(os.environ.get("ARCHCLASS_WORKERS", "1")))))
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if verbose else None
    return train(catalog()[config.arch], config, log).as_dict()


def run_configs(
    configs: list[TrainConfig],
    workers: int = 1,
    progress: Callable[[dict[str, Any]], None] | None = None,
    verbose: bool = False,
    keep_going: bool = False,
) -> list[dict[str, Any]]:
    """Train every configuration; several at once on one device when workers > 1 (spawned processes).

    keep_going: a run that fails (out of memory when many share a GPU) becomes a record of its settings
    with an "error" key, instead of stopping the others."""
    results: list[dict[str, Any]] = []
    if workers <= 1:
        for config in configs:
            try:
                result = _run_one(config, verbose)
            except Exception as error:
                if not keep_going:
                    raise
                result = _failed(config, error)
            results.append(result)
            if progress:
                progress(result)
        return results
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    os.environ["ARCHCLASS_WORKERS"] = str(workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_run_one, config, verbose): config for config in configs}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as error:
                if not keep_going:
                    raise
                result = _failed(futures[future], error)
            results.append(result)
            if progress:
                progress(result)
    return results


def _failed(config: TrainConfig, error: Exception) -> dict[str, Any]:
    """A run that raised, as a record of its settings with an "error" key."""
    return {**asdict(config), "error": f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"}


def run_distributed(
    configs: list[TrainConfig], workers: int, progress: Any = None, verbose: bool = False
) -> list[dict[str, Any]] | None:
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
        results = run_configs(mine, workers, progress, verbose)
        gathered: list[Any] = [None] * world
        dist.all_gather_object(gathered, results)
    finally:
        dist.destroy_process_group()
    if rank != 0:
        return None
    return [result for shard in gathered for result in shard]


@functools.cache
def _size_knob(arch: str) -> str:
    spec = catalog().get(arch)
    return spec.size_knob if spec else "d_model"


def size_label(run: dict[str, Any]) -> str:
    """How a run's size was set: its width, and the knob's value where another knob was matched."""
    knob = _size_knob(run["arch"])
    label = f"d={run['d_model']}"
    if knob != "d_model" and knob in run.get("overrides", {}):
        label += f", {knob}={run['overrides'][knob]}"
    return label


def _points(run: dict[str, Any]) -> list[dict[str, Any]]:
    """A run's measurements at its training length and at every further test length."""
    points = [
        {
            "seq_len": run["seq_len"],
            "accuracy": run["accuracy"],
            "capacity": run["capacity"],
            "state_scalars": run["state_scalars"],
            "state_bits": run["state_bits"],
            "bound_pairs": run["bound_pairs"],
        }
    ]
    for length, entry in run.get("at_length", {}).items():
        points.append({"seq_len": int(length), **{key: entry[key] for key in points[0] if key != "seq_len"}})
    return points


def aggregate(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and spread over seeds for each (architecture, size, test length)."""
    groups: dict[tuple[str, int, str, int], list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    for run in runs:
        for point in _points(run):
            groups[(run["arch"], run["d_model"], size_label(run), point["seq_len"])].append((run, point))
    rows = []
    for (arch, width, label, length), members in sorted(groups.items()):
        valid = [(run, point) for run, point in members if not diverged(run)]
        capacities = [point["capacity"] for _, point in valid]
        bounds = [point["bound_pairs"] for _, point in members if point["bound_pairs"] is not None]
        mean_capacity = statistics.fmean(capacities) if capacities else None
        bound = min(bounds) if bounds else None
        first_run, first = members[0]
        largest_k = max(int(k) for k in first["accuracy"])
        rows.append(
            {
                "arch": arch,
                "d_model": width,
                "size": label,
                "overrides": first_run.get("overrides", {}),
                "seeds": len(valid),
                "diverged": len(members) - len(valid),
                "seq_len": length,
                "trained_seq_len": first_run["seq_len"],
                "state_grows": first_run.get("state_grows_with_length", False),
                "state_scalars": first["state_scalars"],
                "state_bits": first["state_bits"],
                "vocab": first_run["vocab"],
                "largest_k_tried": largest_k,
                "capacity_mean": mean_capacity,
                "capacity_std": statistics.pstdev(capacities) if len(capacities) > 1 else 0.0,
                "capacities": capacities,
                "bound_pairs": bound,
                "capacity_over_bound": (mean_capacity / bound) if bound and mean_capacity is not None else None,
                "tokens_per_second": statistics.fmean(run["tokens_per_second"] for run, _ in members),
                "steps_run": statistics.fmean(run["steps_run"] for run, _ in members),
                "devices": sorted({run.get("device", "unknown") for run, _ in members}),
                "accuracy_mean": {
                    k: statistics.fmean(point["accuracy"][k] for _, point in valid) for k in first["accuracy"]
                }
                if valid
                else {},
            }
        )
    # Whether the state grows with T is read off the measurements where a size was tested at several
    # lengths; a run's own flag (its state at T against 2T) decides otherwise.
    measured: dict[tuple[str, str], set[tuple[int, int]]] = defaultdict(set)  # (length, bits) per size
    for row in rows:
        measured[(row["arch"], row["size"])].add((row["seq_len"], row["state_bits"]))
    for row in rows:
        points = measured[(row["arch"], row["size"])]
        if len({length for length, _ in points}) > 1:
            row["state_grows"] = len({bits for _, bits in points}) > 1
    trained_bits = {(r["arch"], r["size"]): r["state_bits"] for r in rows if r["seq_len"] == r["trained_seq_len"]}
    rows.sort(key=lambda r: (r["arch"], trained_bits.get((r["arch"], r["size"]), 0), r["seq_len"]))
    return rows


def diverged(run: dict[str, Any]) -> bool:
    """Whether a run's training loss became NaN or infinite (flagged by train, or visible in its history)."""
    return bool(run.get("diverged")) or any(not math.isfinite(h["loss"]) for h in run.get("history", []))


def violations(runs: list[dict[str, Any]]) -> list[str]:
    """Measurements whose capacity exceeds their own bound: a bug in the state count, bound or task."""
    return [
        f"{r['arch']} {size_label(r)} seed={r['seed']} T={point['seq_len']}: "
        f"capacity {point['capacity']} > bound {point['bound_pairs']:.4g}"
        for r in runs
        for point in _points(r)
        if point["bound_pairs"] is not None and point["capacity"] > point["bound_pairs"]
    ]


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| architecture | size | T | state scalars | state bits | V | capacity (mean ± sd, seeds) | bound "
        "| capacity / bound | accuracy at largest K | train tokens/s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        bound = f"{r['bound_pairs']:.4g}" if r["bound_pairs"] is not None else "-"
        ratio = f"{r['capacity_over_bound']:.2e}" if r["capacity_over_bound"] is not None else "-"
        trained = "" if r["seq_len"] == r["trained_seq_len"] else " (test only)"
        if r["capacity_mean"] is None:
            capacity_text = f"diverged ({r['diverged']} of {r['diverged']} seeds)"
            accuracy_text = "-"
        else:
            ceiling = " (= largest K tried)" if r["capacity_mean"] == r["largest_k_tried"] else ""
            capacity_text = f"{r['capacity_mean']:.1f} ± {r['capacity_std']:.1f} ({r['seeds']}){ceiling}"
            if r["diverged"]:
                capacity_text += f", {r['diverged']} diverged"
            largest = max(r["accuracy_mean"], key=int)
            accuracy_text = f"{r['accuracy_mean'][largest]:.2f} at K={largest}"
        lines.append(
            f"| {r['arch']} | {r['size']} | {r['seq_len']}{trained} | {r['state_scalars']:,} | {r['state_bits']:,} "
            f"| {r['vocab']} | {capacity_text} | {bound} | {ratio} | {accuracy_text} | {r['tokens_per_second']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: Path, accuracy: float = 0.9) -> None:
    """Two panels of capacity against state bits, one colour per architecture.

    Left, log-log with the bound as a line: every point must lie under it. Right, the same points on a
    linear capacity axis without the bound, where the growth of capacity with state is visible.
    Filled markers are the training length, hollow ones the same models tested on longer sequences;
    architectures whose state grows with T are drawn with squares and dashed lines. On the log panel a
    capacity of 0 is drawn at 0.5 with a downward triangle, since a log axis has no 0.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (log_ax, linear_ax) = plt.subplots(1, 2, figsize=(15, 6.5))
    if rows:
        bits = [r["state_bits"] for r in rows]
        low, high = min(bits) / 2, max(bits) * 2
        vocab = rows[0]["vocab"]
        xs = [low * (high / low) ** (i / 50) for i in range(51)]
        log_ax.loglog(
            xs,
            [x / (accuracy * math.log2(vocab) - 1) for x in xs],
            "k-",
            linewidth=1.5,
            label=f"bound K = n·p / (A·log2 V − 1), A = {accuracy}, V = {vocab}",
        )
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    archs = sorted({r["arch"] for r in rows if r["capacity_mean"] is not None})
    growing = {r["arch"] for r in rows if r["state_grows"]}
    for ax, floor in ((log_ax, 0.5), (linear_ax, 0.0)):
        for index, arch in enumerate(archs):
            _draw_arch(ax, rows, arch, colours[index % len(colours)], arch in growing, floor)
    log_ax.plot([], [], "k^", linestyle="none", label="▲ every seed recalled the largest K tried (capacity ≥ K)")
    log_ax.plot([], [], "kv", linestyle="none", label="▼ capacity 0, drawn at 0.5")
    if len({r["seq_len"] for r in rows}) > 1:
        log_ax.plot([], [], "ko", markerfacecolor="none", linestyle=":", label="hollow: tested at T > training length")
    for ax in (log_ax, linear_ax):
        ax.set_xlabel("state size n·p (bits, all layers, after T tokens; p = 32)")
        ax.grid(True, which="both", alpha=0.3)
    log_ax.set_ylabel(f"recall capacity: largest K at accuracy ≥ {accuracy} (mean ± sd over seeds)")
    log_ax.set_title("Capacity against the information-theoretic bound")
    linear_ax.set_xscale("log")
    linear_ax.set_ylim(bottom=-1)
    linear_ax.set_title("The same points, linear capacity axis (no bound)")
    handles, labels = log_ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=4, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _draw_arch(ax: Any, rows: list[dict[str, Any]], arch: str, colour: str, growing: bool, floor: float) -> None:
    marker = "s" if growing else "o"
    for tested, face in ((False, colour), (True, "none")):
        members = sorted(
            (
                r
                for r in rows
                if r["arch"] == arch
                and r["capacity_mean"] is not None
                and (r["seq_len"] != r["trained_seq_len"]) == tested
            ),
            key=lambda r: r["state_bits"],
        )
        if not members:
            continue
        xs = [r["state_bits"] for r in members]
        ys = [max(r["capacity_mean"], floor) for r in members]
        ax.errorbar(
            xs,
            ys,
            # a log axis cannot show mean - sd below its floor: clip the lower bar there
            yerr=[
                [min(r["capacity_std"], y - floor) for r, y in zip(members, ys, strict=True)],
                [r["capacity_std"] for r in members],
            ],
            color=colour,
            marker=marker,
            linestyle=(":" if tested else "--" if growing else "-"),
            capsize=3,
            label=None if tested else arch + (" (state grows with T)" if growing else ""),
            markerfacecolor=face,
        )
        zero = [(x, y) for x, y, r in zip(xs, ys, members, strict=True) if r["capacity_mean"] == 0]
        if zero:
            zx, zy = zip(*zero, strict=True)
            ax.scatter(zx, zy, marker="v", color=colour, zorder=5)
        # Every seed recalled the largest K tried: the true capacity is at least this, so point up.
        ceiling = [
            (x, y) for x, y, r in zip(xs, ys, members, strict=True) if min(r["capacities"]) == r["largest_k_tried"]
        ]
        if ceiling:
            cx, cy = zip(*ceiling, strict=True)
            ax.scatter(cx, cy, marker="^", s=60, color=colour, zorder=5)


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
        plot(rows, out_dir / "capacity.png", meta["target_accuracy"])
    return rows
