"""Commands that read the registry file: classify, show, list, validate, fmt, schema, bound.

None of them imports torch or matplotlib: they must start as fast as the libraries they stand on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from archclass import report
from archclass.cli.options import (
    ArchArgument,
    ArchOption,
    CheckOption,
    FormatOption,
    JsonFormatOption,
    JsonOption,
    OutputOption,
    RegistryOption,
    chosen_arch,
    output_format,
    with_filters,
)
from archclass.cli.output import emit_json, fail, note, print_rows, stdout, write_output
from archclass.filters import Filters

if TYPE_CHECKING:
    from archclass.registry import Registry

PathArgument = Annotated[
    Optional[Path], typer.Argument(metavar="[FILE]", help="Registry file (default: the bundled registry).")
]
SetOption = Annotated[
    list[str],
    typer.Option("--set", metavar="SYMBOL=NUMBER", help="A hyperparameter's value for the bound (repeatable)."),
]


def load(registry_file: Path | None) -> Registry:
    from archclass.registry import load_registry

    return load_registry(registry_file, full_check=False)


def classify(
    arch: ArchArgument = None,
    arch_option: ArchOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Classify every entry (a table).")] = False,
    json_: JsonOption = False,
    d: Annotated[float, typer.Option("--d", help="Model width d for the bound.")] = 4096,
    layers: Annotated[int, typer.Option(help="Layers for the bound: the state counts all of them.")] = 32,
    bits: Annotated[float, typer.Option(help="Bits per state scalar (16 for bf16).")] = 16,
    vocab: Annotated[int, typer.Option(help="Vocabulary size V of the values to recall.")] = 32000,
    accuracy: Annotated[float, typer.Option(help="Mean recall accuracy A.")] = 0.9,
    length: Annotated[float, typer.Option(help="Sequence length T where a state formula needs one.")] = 2**20,
    set_: SetOption = [],  # noqa: B006
    registry_file: RegistryOption = None,
) -> None:
    """Place an architecture on the triangle and explain which rules fired.

    When the architecture is efficient and compact, the recall bound is printed for the given d, layers,
    bits per scalar, vocabulary and accuracy (defaults: a 7B-class model in bf16).
    """
    from archclass.classifier import BoundSettings
    from archclass.keyvalue import finite_number, parse_pairs

    name = chosen_arch(arch, arch_option)
    if not name and not all_:
        raise typer.BadParameter("name an architecture (classify retnet) or give --all", param_hint="ID")
    overrides = parse_pairs(set_, "--set", "w=4096", convert=finite_number, what="NUMBER")
    settings = BoundSettings(
        d=d, layers=layers, bits=bits, vocab=vocab, accuracy=accuracy, length=length, overrides=overrides
    )
    registry = load(registry_file)
    entries = list(registry) if all_ else [registry.get(name or "")]
    results = registry.classifications(settings) if all_ else [registry.classify_entry(entries[0], settings)]
    if json_:
        emit_json([r.as_dict() for r in results] if all_ else results[0].as_dict())
    elif all_:
        stdout.print(report.placements_table(results))
    else:
        for line in report.classification_lines(entries[0], results[0]):
            stdout.print(line, soft_wrap=True)


def show(
    arch: ArchArgument = None,
    arch_option: ArchOption = None,
    json_: JsonOption = False,
    registry_file: RegistryOption = None,
) -> None:
    """Show a registry entry: citation, scaling, evidence and classification."""
    from archclass.db import latest_probe_summary

    name = chosen_arch(arch, arch_option)
    if not name:
        raise typer.BadParameter("name an architecture, e.g. show mamba", param_hint="ID")
    registry = load(registry_file)
    entry = registry.get(name)
    result = registry.classify_entry(entry)
    probe = latest_probe_summary(entry.id)
    if json_:
        entry_data = entry.model_dump(mode="json", exclude_none=True)
        emit_json({"entry": entry_data, "classification": result.as_dict(), "latest_probe": probe})
        return
    for line in report.entry_lines(entry, result, probe):
        stdout.print(line, soft_wrap=True)


@with_filters
def list_(
    filters: Filters,
    format_: FormatOption = "table",
    json_: JsonFormatOption = False,
    registry_file: RegistryOption = None,
) -> None:
    """List the registry's architectures with their placement, filtered as `query` filters.

    The same filters and JSON rows as `archclass query`, read from the registry file, without a database.
    """
    from archclass.filters import select_rows

    print_rows(select_rows(load(registry_file), filters), output_format(format_, json_), report.rows_table)


def validate(path: PathArgument = None, json_: JsonOption = False) -> None:
    """Check a registry file: schema, complexity strings, unique names, hybrids and the theorem.

    Every problem is reported as FILE:LINE: entry ID: field 'NAME': what is wrong. Exit code 1 when there
    is any.
    """
    from archclass.paths import registry_path
    from archclass.registry import validate_file

    file_path = path or registry_path()
    entries, issues = validate_file(file_path)
    if json_:
        report = {"file": str(file_path), "entries": len(entries), "ok": not issues}
        emit_json({**report, "issues": [issue.__dict__ for issue in issues]})
    else:
        for issue in issues:
            note(str(issue))
        if issues:
            note(f"{len(issues)} problem(s) found")
        else:
            stdout.print(f"{file_path}: {len(entries)} entries valid", markup=False)
    if issues:
        raise typer.Exit(1)


def fmt(
    path: PathArgument = None,
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 with a diff if not canonical.")
    ] = False,
) -> None:
    """Rewrite the registry canonically: sorted by id, keys in schema order, comments kept."""
    from archclass import fmt as formatter
    from archclass.paths import registry_path

    file_path = path or registry_path()
    if check:
        diff = formatter.check(file_path)
        if diff:
            stdout.out(diff, end="", highlight=False)
            fail(f"{file_path} is not canonical; run 'archclass fmt' to fix it")
        note(f"{file_path} is canonical")
        return
    note(f"reformatted {file_path}" if formatter.rewrite(file_path) else f"{file_path} already canonical")


def schema(output: OutputOption = None, check: CheckOption = False) -> None:
    """Export the JSON Schema of registry entries (editors use it to validate while typing)."""
    from archclass.schema import json_schema

    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    write_output(text, output, check=f"archclass schema --output {output}" if check else None)


def bound(
    state: Annotated[float, typer.Option("--state", "-n", metavar="N", help="State scalars n (all layers).")],
    bits: Annotated[float, typer.Option("--bits", "-p", metavar="P", help="Bits per scalar p.")] = 16,
    vocab: Annotated[int, typer.Option("--vocab", "-V", metavar="V", help="Vocabulary size V of the values.")] = 32000,
    accuracy: Annotated[float, typer.Option("--accuracy", "-A", metavar="A", help="Mean recall accuracy A.")] = 0.9,
    json_: JsonOption = False,
) -> None:
    """The most key-value pairs a state of n scalars of p bits can recall at accuracy A.

    K <= n p / (A log2 V - 1), for A > 1/log2 V (Fano's inequality; proof in taxonomy/DEFINITIONS.md).
    """
    from archclass.bound import FORMULA, BoundError, recall_bound

    try:
        result = recall_bound(state, bits, vocab, accuracy)
    except BoundError as error:
        fail(str(error))
    if json_:
        emit_json(result.as_dict())
        return
    stdout.print(FORMULA, markup=False)
    stdout.print(report.bound_inputs(state, bits, vocab, accuracy, result.state_bits), markup=False)
    stdout.print(f"K <= [bold]{report.number(int(result.max_pairs))}[/] key-value pairs")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: archclass classify retnet --json")(classify)
    app.command(epilog="Example: archclass show mamba")(show)
    app.command("list", epilog="Example: archclass list --family ssm --efficient --sort year")(list_)
    app.command(epilog="Example: archclass validate data/architectures.yaml")(validate)
    app.command(epilog="Example: archclass fmt --check")(fmt)
    app.command(epilog="Example: archclass schema --output taxonomy/architecture.schema.json --check")(schema)
    app.command(epilog="Example: archclass bound --state 1048576 --bits 16 --vocab 32000 --accuracy 0.9")(bound)
