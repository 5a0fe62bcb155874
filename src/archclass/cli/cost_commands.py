"""`archclass cost`: state bytes and per-step work at a given T and model size, from the registry."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from archclass.cli.options import JsonOption, RegistryOption
from archclass.cli.output import emit_json, stdout

EPILOG = (
    "Example: archclass cost --arch jamba --arch gqa@llama-3-8b --T 128k\n\n"
    "Sizes: tiny, llama-3-8b, mistral-7b, deepseek-v2-lite, mamba-2.8b, mamba2-2.7b, jamba."
)


def _length(text: str) -> int:
    from archclass.cost import parse_length

    try:
        return parse_length(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--T") from None


def cost(
    arch: Annotated[
        list[str],
        typer.Option("--arch", "-a", help="Id or alias, optionally @SIZE (e.g. gqa@llama-3-8b); repeatable."),
    ],
    length: Annotated[str, typer.Option("--T", "-T", help="Position T in tokens: 131072, 128k or 1M.")] = "128k",
    size: Annotated[
        Optional[str], typer.Option("--size", help="Named configuration for every --arch without @SIZE.")
    ] = None,
    set_: Annotated[list[str], typer.Option("--set", help="Registry symbol value, SYMBOL=NUMBER (repeatable).")] = [],  # noqa: B006
    measured: Annotated[bool, typer.Option("--measured/--no-measured", help="Show stored probe runs.")] = True,
    json_: JsonOption = False,
    registry_file: RegistryOption = None,
) -> None:
    """State bytes and per-step work of architectures at position T, for real model sizes.

    The state comes from the entry's exact state_scalars formula (marked ~ when only the O(.) string
    exists, constants dropped); per-step work is the O(.) string evaluated, an order of magnitude.
    Hybrids add up their layer kinds at the size's layer count.
    """
    from archclass.cost import cost as compute
    from archclass.cost import measured_beside
    from archclass.keyvalue import finite_number, parse_pairs
    from archclass.registry import load_registry

    overrides = parse_pairs(set_, "--set", "w=4096", finite_number, "NUMBER")
    registry = load_registry(registry_file)
    runs = _probe_runs() if measured else []
    results = []
    for item in arch:
        name, _, item_size = item.partition("@")
        result = compute(registry, name, _length(length), item_size or size, overrides)
        beside = measured_beside(result, runs) if runs else None
        results.append(result if beside is None else _with(result, beside))
    if json_:
        emit_json([r.as_dict() for r in results])
    else:
        _print(results)


def _with(result: Any, measured: dict[str, Any]) -> Any:
    from dataclasses import replace

    return replace(result, measured=measured)


def _probe_runs() -> list[dict[str, Any]]:
    """Stored probe runs from the default database, read-only; none when it does not exist."""
    from archclass import db

    reader = getattr(db, "probe_runs", None)
    try:
        return list(reader()) if reader else []
    except Exception:  # a missing or foreign database must not break an arithmetic command
        return []


def _print(results: list[Any]) -> None:
    from rich.table import Table

    from archclass.cost import human_bytes

    table = Table(title=f"decode cost at T = {results[0].T:,}" if len({r.T for r in results}) == 1 else "decode cost")
    for column in ("arch", "size", "layers", "state", "state scalars", "work / step", "from"):
        table.add_column(column, no_wrap=column != "from", justify="right" if column != "from" else "left")
    for r in results:
        mark = "" if r.state_exact else "~"
        formulas = "; ".join(
            f"{p.layers:g} x {p.arch}: {p.state_formula}" + ("" if p.state_exact else " (O, constants dropped)")
            for p in r.parts
        )
        table.add_row(
            r.arch,
            r.size,
            str(r.layers),
            mark + human_bytes(r.state_bytes),
            f"{mark}{r.state_scalars:,.0f}",
            f"~{r.step_work:.3g}",
            formulas,
        )
    stdout.print(table)
    for r in results:
        if r.measured:
            m = r.measured
            formula = m.get("registry_state_scalars_at_probe")
            stdout.print(
                f"  {r.arch}: probe of reference '{m['target']}' (d_model {m['d_model']}, {m['device']}) measured "
                f"{m['state_scalars']:,} state scalars at T = {m['T']:,}"
                + (f"; the registry formula gives {formula:,.0f} there" if formula is not None else "")
            )


def register(app: typer.Typer) -> None:
    app.command("cost", epilog=EPILOG)(cost)
