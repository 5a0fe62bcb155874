"""Human output of `probe --hf` and `--hf-all`: a transformers model measured through its own cache.

Lines (Rich markup) and tables; the CLI prints them. Reads the plain dicts of archclass.probe.hf, so
nothing here needs torch or transformers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table


def census_progress(console: Console) -> Callable[[str], None]:
    """One line per model type on CONSOLE (the census takes minutes)."""
    count = [0]

    def report(model_type: str) -> None:
        count[0] += 1
        console.print(f"[{count[0]}] {model_type}", markup=False)

    return report


def hf_result_lines(result: dict[str, Any]) -> list[str]:
    """One model type's heading: its layers and cache, the three properties, placement and growth."""
    flags = "  ".join(
        f"{name} [bold]{'yes' if result[name] else 'no'}[/]" for name in ("efficient", "compact", "recall")
    )
    kinds = ", ".join(sorted(set(result["layer_kinds"])))
    return [
        f"[bold]{result['model_type']}[/] (transformers {result['transformers_version']}, "
        f"{result['layers']} layers: {kinds}; cache {result['cache_class']})",
        f"  {flags}   placement [bold]{result['placement']}[/]",
        f"  state grows: {result['state_growth']}; step FLOPs grow: {result['compute_growth']}",
    ]


def hf_result_table(result: dict[str, Any]) -> Table:
    """The state and step FLOPs at each length, and the state split by layer kind."""
    table = Table("T", "state scalars", "step FLOPs", "step time", *result["state_by_kind"])
    for index, length in enumerate(result["lengths"]):
        table.add_row(
            f"{length:,}",
            f"{result['state_scalars'][index]:,}",
            f"{result['step_flops'][index]:,}",
            f"{result['step_seconds'][index] * 1e3:.2f} ms",
            *(f"{values[index]:,}" for values in result["state_by_kind"].values()),
        )
    return table


def census_table(rows: list[dict[str, Any]]) -> Table:
    """The census: each causal-LM type's placement beside its registry entry's, where it has one."""
    table = Table("model type", "placement", "registry", "agrees", "reason", title="transformers causal-LM census")
    for row in rows:
        agrees = {True: "yes", False: "[red]NO[/]", None: ""}[row["agrees"]]
        registry = f"{row['registry_id']} ({row['registry_placement']})" if row["registry_id"] else ""
        table.add_row(row["model_type"], row["placement"] or "-", registry, agrees, row["error"] or "")
    return table


def census_summary(rows: list[dict[str, Any]]) -> str:
    """How many types were classified, how many map to registry entries, and how many of those agree."""
    classified = sum(1 for r in rows if r["placement"])
    mapped = [r for r in rows if r["registry_id"]]
    return (
        f"{classified} of {len(rows)} classified; {len(mapped)} mapped to registry entries, "
        f"{sum(1 for r in mapped if r['agrees'])} agree, {sum(1 for r in mapped if r['agrees'] is False)} disagree"
    )
