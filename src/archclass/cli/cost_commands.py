"""`archclass cost`: state bytes and per-step work at a given T and model size, from the registry."""

from __future__ import annotations

from typing import Annotated, Optional

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
    from archclass.cost import cost_table, costs, measured_lines, stored_probe_runs
    from archclass.keyvalue import finite_number, parse_pairs
    from archclass.registry import load_registry

    overrides = parse_pairs(set_, "--set", "w=4096", finite_number, "NUMBER")
    registry = load_registry(registry_file)
    results = costs(registry, arch, _length(length), size, overrides, stored_probe_runs() if measured else ())
    if json_:
        emit_json([r.as_dict() for r in results])
        return
    stdout.print(cost_table(results))
    for line in measured_lines(results):
        stdout.print(line)


def register(app: typer.Typer) -> None:
    app.command("cost", epilog=EPILOG)(cost)
