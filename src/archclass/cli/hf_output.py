"""Output of `archclass probe --hf` and `--hf-all`: a transformers model measured through its own cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from archclass.cli.output import emit_json, stderr, stdout


def run_hf(
    model_type: str | None,
    census: bool,
    config: Path | None,
    layers: int | None,
    overrides: dict[str, Any],
    lengths: list[int] | None,
    device: str,
    dtype: str,
    check: bool,
    json_: bool,
    out: Path | None,
) -> None:
    """`probe --hf`, `--hf-config` and `--hf-all`; with --json a failure is still a JSON object on stdout."""
    from archclass.errors import ArchclassError
    from archclass.probe import hf

    try:
        if census:
            print_census(hf.census(lengths=lengths or hf.DEFAULT_LENGTHS, progress=_progress()), out, json_)
            return
        result = hf.probe_hf(
            model_type or "", overrides=overrides, config_path=config, layers=layers,
            lengths=lengths or hf.DEFAULT_LENGTHS, device=device, dtype=dtype, check=check,
        ).as_dict()  # fmt: skip
    except ArchclassError as error:
        if json_:
            emit_json({"error": str(error), "model_type": model_type, "kind": getattr(error, "kind", None)})
            raise SystemExit(1) from None
        raise
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    if json_:
        emit_json(result)
    else:
        print_hf_result(result)


def _progress() -> Any:
    """A callback that prints one line per model type to stderr (the census takes minutes)."""
    count = [0]

    def report(model_type: str) -> None:
        count[0] += 1
        stderr.print(f"[{count[0]}] {model_type}", markup=False)

    return report


def print_hf_result(result: dict[str, Any]) -> None:
    """One model type: its placement, the state and step FLOPs per length, and the split by layer kind."""
    from rich.table import Table

    flags = "  ".join(
        f"{name} [bold]{'yes' if result[name] else 'no'}[/]" for name in ("efficient", "compact", "recall")
    )
    stdout.print(
        f"[bold]{result['model_type']}[/] (transformers {result['transformers_version']}, "
        f"{result['layers']} layers: {', '.join(sorted(set(result['layer_kinds'])))}; cache {result['cache_class']})"
    )
    stdout.print(f"  {flags}   placement [bold]{result['placement']}[/]")
    stdout.print(f"  state grows: {result['state_growth']}; step FLOPs grow: {result['compute_growth']}")
    table = Table("T", "state scalars", "step FLOPs", "step time", *result["state_by_kind"])
    for index, length in enumerate(result["lengths"]):
        table.add_row(
            f"{length:,}",
            f"{result['state_scalars'][index]:,}",
            f"{result['step_flops'][index]:,}",
            f"{result['step_seconds'][index] * 1e3:.2f} ms",
            *(f"{values[index]:,}" for values in result["state_by_kind"].values()),
        )
    stdout.print(table)
    for note in result["notes"]:
        stdout.print(f"  note: {note}", soft_wrap=True, markup=False)


def print_census(rows: list[dict[str, Any]], output: Path | None, json_: bool) -> None:
    """The census table (or JSON), written to OUTPUT when given."""
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        stderr.print(f"wrote {output}", markup=False)
    if json_:
        emit_json(rows)
        return
    from rich.table import Table

    classified = sum(1 for r in rows if r["placement"])
    mapped = [r for r in rows if r["registry_id"]]
    table = Table("model type", "placement", "registry", "agrees", "reason", title="transformers causal-LM census")
    for row in rows:
        agrees = {True: "yes", False: "[red]NO[/]", None: ""}[row["agrees"]]
        registry = f"{row['registry_id']} ({row['registry_placement']})" if row["registry_id"] else ""
        table.add_row(row["model_type"], row["placement"] or "-", registry, agrees, row["error"] or "")
    stdout.print(table)
    stdout.print(
        f"{classified} of {len(rows)} classified; {len(mapped)} mapped to registry entries, "
        f"{sum(1 for r in mapped if r['agrees'])} agree, {sum(1 for r in mapped if r['agrees'] is False)} disagree"
    )
