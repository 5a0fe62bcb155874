"""Human output of probe results: a Rich table, a verdict line, log-log plots."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def measurement_table(result: dict[str, Any]) -> Table:
    size = f", size {result['size']}" if result.get("size") else ""
    table = Table(
        title=f"probe: {result['target']} on {result['device']} ({result['dtype']}, d_model={result['d_model']}{size})"
    )
    for column in ("T", "state scalars", "max state", "step FLOPs", "step bytes", "step time"):
        table.add_column(column, justify="right")
    if result.get("copy_bandwidth_bytes_per_s"):
        for column in ("of copy bw", "floor", "time / floor"):
            table.add_column(column, justify="right")
    for m in result["measurements"]:
        row = [
            str(m["length"]),
            f"{m['state_scalars']:,}",
            f"{m['max_state_scalars']:,}",
            f"{m['max_step_flops']:,}",
            f"{m['max_step_bytes']:,}",
            f"{m['step_seconds'] * 1e6:,.1f} µs",
        ]
        if result.get("copy_bandwidth_bytes_per_s"):
            fraction, floor, over = m.get("bandwidth_fraction"), m.get("floor_seconds"), m.get("over_floor")
            row.append(f"{fraction:.1%}" if fraction is not None else "-")
            row.append(f"{floor * 1e6:,.1f} µs" if floor is not None else "-")
            row.append(f"{over:.2f}x" if over is not None else "-")
        table.add_row(*row)
    return table


def verdict(result: dict[str, Any]) -> str:
    fit, cls = result["fit"], result["classification"]
    parts = [
        f"state {fit['state']['growth']} (exp {fit['state']['exponent']:g})",
        f"compute {fit['compute']['growth']} (exp {fit['compute']['exponent']:g})",
        f"time {fit['time']['growth']} (exp {fit['time']['exponent']:g})",
    ]
    line = (
        f"{result['target']}: efficient={'yes' if cls['efficient'] else 'no'} "
        f"compact={'yes' if cls['compact'] else 'no'} placement {cls['placement']}; " + ", ".join(parts)
    )
    registry = result.get("registry")
    if registry:
        declared = registry["declared"]
        agree = "agrees with" if registry["agrees_all"] else "DISAGREES with"
        line += f"; {agree} the registry ({declared['placement']})"
        formula = registry.get("state_formula")
        if formula and formula.get("checked") and not formula["agrees"]:
            line += (
                f"; state formula {formula['formula']} gives {formula['expected_at_longest']:,.0f}, "
                f"measured {formula['measured_at_longest']:,}"
            )
    return line


def claims_table(results: list[dict[str, Any]]) -> Table:
    """One row per probed reference: declared against measured placement, growths, state formula."""
    table = Table(
        "reference",
        "registry id",
        "declared",
        "measured",
        "state growth",
        "compute growth",
        "time growth",
        "state formula",
        "agrees",
        "time as counted",
        "time / floor at longest",
        title="declared versus measured",
    )
    for r in results:
        registry = r.get("registry") or {}
        formula = registry.get("state_formula") or {}
        if not formula.get("checked"):
            formula_text = "not checked" if registry else "-"
        else:
            formula_text = "ok" if formula["agrees"] else "WRONG"
        table.add_row(
            r["target"],
            registry.get("id", "-"),
            registry.get("declared", {}).get("placement", "-"),
            r["classification"]["placement"],
            f"{r['fit']['state']['growth']} ({r['fit']['state']['exponent']:g})",
            f"{r['fit']['compute']['growth']} ({r['fit']['compute']['exponent']:g})",
            f"{r['fit']['time']['growth']} ({r['fit']['time']['exponent']:g})",
            formula_text,
            "yes" if registry.get("agrees_all") else ("-" if not registry else "NO"),
            _time_check_text(r.get("time_check") or {}),
            _over_floor_text(r["measurements"][-1]),
        )
    return table


def _time_check_text(check: dict[str, Any]) -> str:
    if not check:
        return "-"
    return f"{'yes' if check['agrees'] else 'NO'} (from T={check['from_length']:,})"


def _over_floor_text(measurement: dict[str, Any]) -> str:
    over = measurement.get("over_floor")
    return f"{over:.2f}x at T={measurement['length']:,}" if over is not None else "-"


def unchecked_formulas(results: list[dict[str, Any]]) -> list[str]:
    """'reference: why' for each reference whose state formula was not compared with the registry."""
    return [
        f"{r['target']}: {r['registry']['state_formula']['reason']}"
        for r in results
        if r.get("registry") and not r["registry"].get("state_formula", {}).get("checked")
    ]


def print_result(console: Console, result: dict[str, Any]) -> None:
    console.print(measurement_table(result))
    console.print(verdict(result), markup=False, soft_wrap=True)
    positions = result.get("cost_positions") or {}
    if positions.get("rule"):
        console.print(f"step cost counted at {positions['rule']}", markup=False, soft_wrap=True)
    for note in result.get("notes", []):
        console.print(f"note: {note}", markup=False, soft_wrap=True)


def _family(result: dict[str, Any], families: dict[str, str]) -> str:
    arch_id = result.get("arch_id") or (result.get("registry") or {}).get("id")
    return result.get("family") or families.get(arch_id or "", "your modules")


def _registry_families() -> dict[str, str]:
    try:
        from archclass.registry import load_registry

        return {entry.id: str(entry.family) for entry in load_registry(None)}
    except Exception:  # a plot is still drawn, with every model in one facet
        return {}


PLOT_PANELS = (
    ("max_state_scalars", "state scalars (max up to T)"),
    ("max_step_flops", "FLOPs of one step"),
    ("step_seconds", "seconds per step (dotted: floor)"),
)


def plot_results(results: list[dict[str, Any]], path: Path) -> None:
    """Log-log state, FLOPs and time against T: one row of small panels per family, so each panel has a
    few lines; on CUDA the time panel also draws each model's floor (dotted, same colour)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = _registry_families()
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in sorted(results, key=lambda r: r["target"]):
        groups.setdefault(_family(result, families), []).append(result)
    fig, axes = plt.subplots(len(groups), 3, figsize=(15, 2.7 * len(groups) + 0.8), squeeze=False)
    colours = plt.get_cmap("tab10")
    for row, (family, members) in zip(axes, sorted(groups.items()), strict=True):
        for column, (ax, (key, title)) in enumerate(zip(row, PLOT_PANELS, strict=True)):
            for index, result in enumerate(members):
                lengths = [m["length"] for m in result["measurements"]]
                values = [max(m[key], 1e-12) for m in result["measurements"]]
                style = "-" if result["classification"]["compact"] else "--"
                ax.loglog(
                    lengths, values, style, marker="o", markersize=3, color=colours(index % 10), label=result["target"]
                )
                floors = [m.get("floor_seconds") for m in result["measurements"]]
                if key == "step_seconds" and all(floors):
                    ax.loglog(lengths, floors, ":", color=colours(index % 10), linewidth=1)
            ax.grid(True, which="both", alpha=0.3)
            ax.set_title(f"{family}: {title}" if column == 0 else title, fontsize=9)
            ax.tick_params(labelsize=7)
        row[0].legend(fontsize=7, frameon=False, loc="upper left")
    for ax in axes[-1]:
        ax.set_xlabel("position T")
    first = results[0] if results else {}
    size = f", size {first['size']}" if first.get("size") else ""
    fig.suptitle(
        f"archclass probe on {first.get('device', '?')} ({first.get('dtype', '?')}, d_model {first.get('d_model', '?')}"
        f"{size}): solid = measured compact, dashed = state grows"
    )
    fig.tight_layout(rect=(0, 0, 1, 0.99))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, metadata={"Software": None} if path.suffix == ".png" else None)
    plt.close(fig)


def references_table(rows: list[dict[str, Any]]) -> Table:
    """`reference list`: each reference implementation, its registry id, size and hyperparameters."""
    columns = ("reference", "registry id", "parameters (d=64)", "hyperparameters", "prefill")
    table = Table(*columns, title=f"{len(rows)} reference implementations")
    for row in rows:
        hyperparameters = ", ".join(f"{k}={v}" for k, v in row["kwargs"].items())
        table.add_row(
            row["name"], row["arch_id"], f"{row['parameters']:,}", hyperparameters, "yes" if row["prefill"] else "no"
        )
    return table


@contextmanager
def probe_progress(console: Console, total: int) -> Iterator[Callable[[str, int], None] | None]:
    """A Rich progress bar on a terminal (advanced once a measured length), nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("probing", total=total)

        def advance(label: str, _length: int) -> None:
            bar.update(task, advance=1, description=f"probing {label}")

        yield advance
