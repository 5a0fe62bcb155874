"""The published-scale sweep's files: results.json, results.md and two figures, from the runs of its parts.

results.json   meta, the protocol, per family the points (best lr per seed and size) and the fit,
               the constructed curves, the summary over seeds, every run
results.md     the fits, the points and the constructed capacities as tables
capacity_vs_state.png   located capacities against state scalars, fits, bound, constructed curves
accuracy_vs_k.png       accuracy against K per family, one line per size (best lr, mean over seeds)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError
from archclass.recall.constructed import RULES, constructed_curve
from archclass.recall.files import merge_sources, refuse_overwrite
from archclass.recall.sweep import aggregate, violations
from archclass.recall.tradeoff import best_over_lr, tradeoff

CONSTRUCTED_WIDTHS = [8, 16, 32, 64, 128]


def build_published(
    runs: list[dict[str, Any]], target: float, widths: list[int] | None = None, constructed_sequences: int = 128
) -> dict[str, Any]:
    """Everything results.json holds but the meta, from the runs."""
    families = tradeoff(runs, target)
    vocab, seq_len = runs[0]["vocab"], runs[0]["seq_len"]
    pairs = sorted({int(k) for run in runs for k in run["accuracy"]})
    constructed = [
        row
        for rule in RULES
        for row in constructed_curve(
            rule, widths or CONSTRUCTED_WIDTHS, vocab, pairs, seq_len, target, constructed_sequences
        )
    ]
    bound_violations = violations(runs)
    for family in families.values():
        for p in family["points"]:
            if p["bound_pairs"] is not None and p["capacity_interpolated"] > p["bound_pairs"]:
                bound_violations.append(
                    f"{p['arch']} d={p['d_model']} seed={p['seed']}: interpolated capacity above bound"
                )
    return {
        "protocol": {
            "vocab": vocab,
            "test_seq_len": seq_len,
            "test_pairs": pairs,
            "train_mix": runs[0].get("train_mix"),
            "target_accuracy": target,
            "layers": runs[0]["n_layers"],
        },  # fmt: skip
        "families": families,
        "constructed": constructed,
        "summary": aggregate(best_over_lr(runs)),
        "violations": bound_violations,
    }


def write_published(
    sources: list[Path], out: Path, *, force: bool = False, figure: bool = True, widths: list[int] | None = None
) -> dict[str, Any]:
    """Merge the parts' runs and write the files; a capacity above its bound raises after writing them."""
    refuse_overwrite(out, allowed=force, flag="--force")
    runs, described = merge_sources(sources)
    target = 0.9
    result = build_published(runs, target, widths, constructed_sequences=128 if widths is None else 16)
    meta = {
        "command": "python -m archclass.recall.published report " + " ".join(str(s) for s in sources),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "devices": sorted({run.get("device", "unknown") for run in runs}),
        "sources": described,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"meta": meta, **result, "runs": runs}, indent=1) + "\n")
    (out / "results.md").write_text(markdown(meta, result))
    if figure:
        plot_capacity(result, out / "capacity_vs_state.png")
        plot_accuracy(runs, out / "accuracy_vs_k.png")
    if result["violations"]:
        raise ArchclassError("capacity above its bound: " + "; ".join(result["violations"]))
    return result


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown(meta: dict[str, Any], result: dict[str, Any]) -> str:
    protocol = result["protocol"]
    lines = [
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']}; devices: {', '.join(meta['devices'])}  ",
        f"V = {protocol['vocab']}, tested at T = {protocol['test_seq_len']}, K = {protocol['test_pairs']}, "
        f"A = {protocol['target_accuracy']}, trained on (T, K, weight) = {protocol['train_mix']}.",
        "",
        "## Capacity against state, per family (located points only; best lr per seed and size)",
        "",
        "| family | located points | sizes | slope d log C / d log n | 95% interval | pairs per state scalar "
        "(median) | fraction of the bound (median) |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for arch, family in result["families"].items():
        fit = family["fit"]
        interval = fit.get("interval")
        lines.append(
            f"| {arch} | {fit.get('points', '-')} | {fit.get('sizes', '-')} | {_number(fit.get('slope'), '.2f')} | "
            f"{f'{interval[0]:.2f} … {interval[1]:.2f}' if interval else fit.get('note', '-')} | "
            f"{_number(fit.get('pairs_per_scalar_median'), '.2e')} | "
            f"{_number(fit.get('bound_fraction_median'), '.2e')} |"
        )
    lines += [
        "",
        "## Points",
        "",
        "| family | d_model | seed | best lr (of) | state scalars | capacity | interpolated | status | left plateau at "
        "| bound | fraction of bound |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for arch, family in result["families"].items():
        for p in family["points"]:
            tried = ", ".join(f"{x:g}" for x in p["lrs_tried"])
            lines.append(
                f"| {arch} | {p['d_model']} | {p['seed']} | {p['lr']:g} ({tried}) "
                f"| {p['state_scalars']:,} | {p['capacity']} | {p['capacity_interpolated']:.1f} | {p['status']} "
                f"| {p['plateau_step'] if p['plateau_step'] is not None else 'never'} | "
                f"{_number(p['bound_pairs'], '.4g')} | {_number(p['bound_fraction'], '.2e')} |"
            )
    lines += ["", "## Constructed by hand (no training; same data and capacity rule)", ""]
    lines += ["| rule | d_k = d_v | state scalars | capacity | accuracy by K |", "| --- | ---: | ---: | ---: | --- |"]
    for row in result["constructed"]:
        accuracy = " ".join(f"{k}:{a:.2f}" for k, a in row["accuracy"].items())
        lines.append(f"| {row['rule']} | {row['d_k']} | {row['state_scalars']:,} | {row['capacity']} | {accuracy} |")
    if result["violations"]:
        lines += ["", "**Above the bound:** " + "; ".join(result["violations"])]
    return "\n".join(lines) + "\n"


def plot_capacity(result: dict[str, Any], path: Path) -> None:
    """Located capacities (filled) and the other points (hollow: plateau, ceiling, below) against
    state scalars, each family's fit as a line, the bound, and the constructed curves (dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    all_n = [p["state_scalars"] for f in result["families"].values() for p in f["points"]]
    all_n += [row["state_scalars"] for row in result["constructed"]]
    for index, (arch, family) in enumerate(result["families"].items()):
        colour = colours[index % len(colours)]
        located = [p for p in family["points"] if p["status"] == "located"]
        other = [p for p in family["points"] if p["status"] != "located"]
        ax.scatter([p["state_scalars"] for p in located], [p["capacity_interpolated"] for p in located],
                   color=colour, label=arch)  # fmt: skip
        ax.scatter([p["state_scalars"] for p in other], [max(p["capacity_interpolated"], 1) for p in other],
                   facecolors="none", edgecolors=colour)  # fmt: skip
        fit = family["fit"]
        if fit.get("slope") is not None:
            xs = sorted({p["state_scalars"] for p in located})
            ax.plot(xs, [math.exp(fit["intercept"]) * x ** fit["slope"] for x in xs], color=colour,
                    label=f"{arch} fit: slope {fit['slope']:.2f}")  # fmt: skip
    for rule, style in zip(RULES, ("--", ":"), strict=True):
        rows = [r for r in result["constructed"] if r["rule"] == rule]
        ax.plot([r["state_scalars"] for r in rows], [max(r["capacity"], 1) for r in rows], "k" + style,
                label=f"constructed {rule}")  # fmt: skip
    if all_n:
        protocol = result["protocol"]
        per_scalar = 32 / (protocol["target_accuracy"] * math.log2(protocol["vocab"]) - 1)
        xs = [min(all_n) / 2, max(all_n) * 2]
        ax.plot(xs, [x * per_scalar for x in xs], "k-", linewidth=2, label="bound K = n·32/(A·log2 V − 1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("state scalars n (all layers)")
    ax.set_ylabel("recall capacity (interpolated K at accuracy A)")
    ax.set_title("Capacity against state: hollow = not located (plateau, ceiling or below smallest K)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_accuracy(runs: list[dict[str, Any]], path: Path) -> None:
    """Accuracy against K per family, one line per width (best lr per seed, mean over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best = best_over_lr(runs)
    archs = sorted({r["arch"] for r in best})
    columns = min(3, max(1, len(archs)))
    rows_count = math.ceil(len(archs) / columns) or 1
    fig, axes = plt.subplots(rows_count, columns, figsize=(5 * columns, 3.8 * rows_count), squeeze=False)
    for ax, arch in zip(axes.flat, archs, strict=False):
        for width in sorted({r["d_model"] for r in best if r["arch"] == arch}):
            members = [r for r in best if r["arch"] == arch and r["d_model"] == width]
            ks = sorted(int(k) for k in members[0]["accuracy"])
            ax.plot(ks, [statistics.fmean(r["accuracy"][str(k)] for r in members) for k in ks], marker="o",
                    label=f"d={width} ({len(members)} seeds)")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(arch)
        ax.set_xlabel("K")
        ax.set_ylabel("accuracy")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(archs) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
