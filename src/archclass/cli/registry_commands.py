"""Commands that read the registry file: classify, show, list, validate, fmt, schema, bound.

None of them imports torch or matplotlib: they must start as fast as the libraries they stand on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from archclass.cli.options import JsonOption, RegistryOption
from archclass.cli.output import emit_json, fail, stderr, stdout

if TYPE_CHECKING:
    from archclass.classifier import BoundSettings, Classification
    from archclass.registry import Registry
    from archclass.schema import Architecture

def _settings(
    d: float, layers: int, bits: float, vocab: int, accuracy: float, length: float, sets: list[str]
) -> BoundSettings:
    from archclass.classifier import BoundSettings

    overrides: dict[str, float] = {}
    for item in sets:
        symbol, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            overrides[symbol.strip()] = float(value)
        except ValueError:
            raise typer.BadParameter(f"{item!r} is not SYMBOL=NUMBER, e.g. --set w=4096", param_hint="--set") from None
    return BoundSettings(
        d=d, layers=layers, bits=bits, vocab=vocab, accuracy=accuracy, length=length, overrides=overrides
    )


def load(registry_file: Path | None) -> Registry:
    from archclass.registry import load_registry

    return load_registry(registry_file, full_check=False)


POSITION_HEADER = "position (E, C, R)"


def _format_position(position: tuple[float, float, float] | list[float]) -> str:
    return "(" + ", ".join(f"{p:.3f}" for p in position) + ")"


def print_classification(entry: Architecture, result: Classification) -> None:
    from rich.markup import escape

    flags = "  ".join(
        f"{name} [bold]{'yes' if value else 'no'}[/]"
        for name, value in (("efficient", result.efficient), ("compact", result.compact), ("recall", result.recall))
    )
    kind = "vertex" if len(result.placement) == 1 else ("edge" if len(result.placement) == 2 else "centre")
    if result.hybrid:
        kind = "inside the triangle, " + kind
    stdout.print(f"[bold]{escape(entry.name)}[/] ({entry.id}, {entry.year}, {entry.family})")
    stdout.print(f"  {flags}")
    stdout.print(
        f"  placement [bold]{result.placement}[/] ({kind}); position (E, C, R) = {_format_position(result.position)}"
    )
    stdout.print(f"  per-step compute grows as {result.compute_growth}; state grows as {result.state_growth}")
    stdout.print("  rules fired:")
    for firing in result.rules:
        mark = "+" if firing.value else "-"
        stdout.print(
            f"    {mark} {firing.property:9} [cyan]{firing.rule}[/]: {escape(firing.explanation)}", soft_wrap=True
        )
    if result.bound is not None:
        bound = result.bound
        stdout.print(f"  recall bound (E and C imply not R): {bound['formula']}")
        if bound.get("evaluated"):
            stdout.print(
                f"    n = {bound['n']:.4g} state scalars "
                f"({bound['layers']} layers x {bound['state_scalars_per_layer']:.4g}, "
                f"{escape(bound['state_from'])}, d = {bound['d']:g}), p = {bound['p']:g} bits, V = {bound['V']}, "
                f"A = {bound['A']}:  K <= [bold]{bound['max_pairs']:.4g}[/] pairs, at any sequence length",
                soft_wrap=True,
            )
        else:
            stdout.print(f"    not evaluated: {escape(bound['reason'])}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command(epilog="Example: archclass classify --arch retnet --json")
    def classify(
        arch: Annotated[Optional[str], typer.Option("--arch", "-a", help="Id or alias, case-insensitive.")] = None,
        all_: Annotated[bool, typer.Option("--all", help="Classify every entry (a table).")] = False,
        json_: JsonOption = False,
        d: Annotated[float, typer.Option("--d", help="Model width d for the bound.")] = 4096,
        layers: Annotated[int, typer.Option(help="Layers for the bound: the state counts all of them.")] = 32,
        bits: Annotated[float, typer.Option(help="Bits per state scalar (16 for bf16).")] = 16,
        vocab: Annotated[int, typer.Option(help="Vocabulary size V of the values to recall.")] = 32000,
        accuracy: Annotated[float, typer.Option(help="Mean recall accuracy A.")] = 0.9,
        length: Annotated[float, typer.Option(help="Sequence length T where a state formula needs one.")] = 2**20,
        set_: Annotated[
            list[str], typer.Option("--set", help="Hyperparameter value, SYMBOL=NUMBER (repeatable).")
        ] = [],  # noqa: B006
        registry_file: RegistryOption = None,
    ) -> None:
        """Place an architecture on the triangle and explain which rules fired.

        When the architecture is efficient and compact, the recall bound is printed for the given d,
        layers, bits per scalar, vocabulary and accuracy (defaults: a 7B-class model in bf16).
        """
        from archclass.classifier import classify_entry

        if not arch and not all_:
            raise typer.BadParameter("give --arch ID (e.g. --arch retnet) or --all", param_hint="--arch")
        settings = _settings(d, layers, bits, vocab, accuracy, length, set_)
        registry = load(registry_file)
        if all_:
            results = registry.classifications(settings)
            if json_:
                emit_json([r.as_dict() for r in results])
                return
            from rich.table import Table

            table = Table(title=f"{len(results)} architectures (rules: classify --arch ID, or --json)")
            table.add_column("id", no_wrap=True)
            for column in ("placement", "E", "C", "R", "compute", "state"):
                table.add_column(column, no_wrap=True)
            for r in results:
                table.add_row(
                    r.id,
                    r.placement,
                    *(f"{p:.2f}" for p in r.position),
                    r.compute_growth,
                    r.state_growth,
                )
            stdout.print(table)
            return
        assert arch is not None
        entry = registry.get(arch)
        result = classify_entry(entry, registry, settings)
        if json_:
            emit_json(result.as_dict())
        else:
            print_classification(entry, result)

    @app.command(epilog="Example: archclass show mamba --json")
    def show(
        arch: Annotated[str, typer.Argument(help="Id or alias, case-insensitive.")],
        json_: JsonOption = False,
        registry_file: RegistryOption = None,
    ) -> None:
        """Show a registry entry: citation, scaling, evidence and classification."""
        from archclass.classifier import classify_entry

        registry = load(registry_file)
        entry = registry.get(arch)
        result = classify_entry(entry, registry)
        probe = _latest_probe(entry.id)
        if json_:
            emit_json(
                {
                    "entry": entry.model_dump(mode="json", exclude_none=True),
                    "classification": result.as_dict(),
                    "latest_probe": probe,
                }
            )
            return
        from rich.markup import escape

        citation = f"arXiv:{entry.arxiv}" if entry.arxiv else entry.url
        stdout.print(f"[bold]{escape(entry.name)}[/]  [dim]{entry.id}[/]")
        stdout.print(f"  {entry.year}, {entry.family}, {citation}")
        if entry.aliases:
            stdout.print(f"  aliases: {', '.join(entry.aliases)}")
        stdout.print(f"  {escape(entry.summary)}", soft_wrap=True)
        if entry.inference:
            inf = entry.inference
            stdout.print(
                f"  per-step compute {inf.per_step_compute}; state {inf.state_size}"
                + (f" (exactly {inf.state_scalars})" if inf.state_scalars else "")
                + f"; retrieval {inf.retrieval}; precision {inf.precision}"
            )
        for component in entry.components or []:
            stdout.print(f"  component {component.arch}: {component.fraction:.1%} of layers")
        for symbol, spec in entry.hyperparameters.items():
            meaning = (
                spec
                if isinstance(spec, str)
                else f"{spec.meaning}" + (f" (typically {spec.value:g})" if spec.value is not None else "")
            )
            stdout.print(f"  {symbol}: {escape(meaning)}")
        stdout.print(f"  evidence ({entry.confidence} confidence): {escape(entry.evidence)}", soft_wrap=True)
        if entry.notes:
            stdout.print(f"  notes: {escape(entry.notes)}", soft_wrap=True)
        if entry.reference:
            stdout.print(f"  reference implementation: {entry.reference} (archclass probe --arch {entry.id})")
        stdout.print(f"  placement {result.placement}, position (E, C, R) = {_format_position(result.position)}")
        if probe:
            stdout.print(
                f"  latest probe ({probe.get('created_at', '?')}, {probe.get('device', '?')}): "
                f"measured placement {probe.get('placement')}, state {probe.get('state_growth')}, "
                f"compute {probe.get('compute_growth')}"
            )

    @app.command("list", epilog="Example: archclass list --family ssm --json")
    def list_(
        family: Annotated[Optional[str], typer.Option(help="Only this family, e.g. ssm, hybrid.")] = None,
        json_: JsonOption = False,
        registry_file: RegistryOption = None,
    ) -> None:
        """List the registry's architectures with their placement."""
        from archclass.classifier import classify_entry
        from archclass.schema import FAMILIES

        if family is not None and family not in FAMILIES:
            raise typer.BadParameter(
                f"unknown family {family!r}; choose from {', '.join(FAMILIES)}", param_hint="--family"
            )
        registry = load(registry_file)
        rows: list[dict[str, Any]] = []
        for entry in registry:
            if family and entry.family != family:
                continue
            result = classify_entry(entry, registry)
            rows.append(
                {
                    "id": entry.id,
                    "name": entry.name,
                    "year": entry.year,
                    "family": entry.family,
                    "arxiv": entry.arxiv,
                    "placement": result.placement,
                    "confidence": entry.confidence,
                }
            )
        if json_:
            emit_json(rows)
            return
        from rich.table import Table

        table = Table("id", "name", "year", "family", "placement", "citation", title=f"{len(rows)} architectures")
        for row in rows:
            table.add_row(
                row["id"],
                row["name"],
                str(row["year"]),
                row["family"],
                row["placement"],
                f"arXiv:{row['arxiv']}" if row["arxiv"] else "url",
            )
        stdout.print(table)

    @app.command(epilog="Example: archclass validate data/architectures.yaml")
    def validate(
        path: Annotated[Optional[Path], typer.Argument(help="Registry file (default: the bundled registry).")] = None,
        json_: JsonOption = False,
    ) -> None:
        """Check a registry file: schema, complexity strings, unique names, hybrids and the theorem.

        Every problem is reported as FILE:LINE: entry ID: field 'NAME': what is wrong. Exit code 1
        when there is any.
        """
        from archclass.errors import Issue
        from archclass.paths import registry_path
        from archclass.registry import validate_data
        from archclass.yamlio import YamlError, load_file

        file_path = path or registry_path()
        try:
            loaded = load_file(file_path)
            entries, issues = validate_data(loaded, str(file_path))
        except YamlError as error:
            entries, issues = [], [Issue(str(file_path), str(error), error.line)]
        if json_:
            emit_json(
                {
                    "file": str(file_path),
                    "entries": len(entries),
                    "ok": not issues,
                    "issues": [issue.__dict__ for issue in issues],
                }
            )
        else:
            for issue in issues:
                stderr.print(str(issue), markup=False, soft_wrap=True)
            if not issues:
                stdout.print(f"{file_path}: {len(entries)} entries valid")
        if issues:
            if not json_:
                stderr.print(f"{len(issues)} problem(s) found", markup=False)
            raise typer.Exit(1)

    @app.command(epilog="Example: archclass fmt --check")
    def fmt(
        path: Annotated[Optional[Path], typer.Argument(help="Registry file (default: the bundled registry).")] = None,
        check: Annotated[
            bool, typer.Option("--check", help="Change nothing; exit 1 with a diff if not canonical.")
        ] = False,
    ) -> None:
        """Rewrite the registry canonically: sorted by id, keys in schema order, comments kept."""
        from archclass import fmt as formatter
        from archclass.paths import registry_path

        file_path = path or registry_path()
        if not file_path.exists():
            fail(f"{file_path}: no such file")
        if check:
            diff = formatter.check(file_path)
            if diff:
                stdout.print(diff, markup=False, highlight=False, end="")
                stderr.print(f"{file_path} is not canonical; run 'archclass fmt' to fix it", markup=False)
                raise typer.Exit(1)
            stderr.print(f"{file_path} is canonical", markup=False)
            return
        if formatter.rewrite(file_path):
            stderr.print(f"reformatted {file_path}", markup=False)
        else:
            stderr.print(f"{file_path} already canonical", markup=False)

    @app.command(epilog="Example: archclass schema --output taxonomy/architecture.schema.json")
    def schema(
        output: Annotated[
            Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout.")
        ] = None,
        check: Annotated[
            bool, typer.Option("--check", help="Exit 1 if OUTPUT differs from the current schema.")
        ] = False,
    ) -> None:
        """Export the JSON Schema of registry entries (editors use it to validate while typing)."""
        from archclass.schema import json_schema

        text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
        if output is None:
            stdout.out(text, end="", highlight=False)
            return
        if check:
            if not output.exists() or output.read_text(encoding="utf-8") != text:
                fail(f"{output} is out of date; run 'archclass schema --output {output}'")
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        stderr.print(f"wrote {output}", markup=False)

    @app.command(epilog="Example: archclass bound --state 1048576 --bits 16 --vocab 32000 --accuracy 0.9")
    def bound(
        state: Annotated[float, typer.Option("--state", "-n", help="Number of state scalars n (all layers).")],
        bits: Annotated[float, typer.Option("--bits", "-p", help="Bits per scalar p.")] = 16,
        vocab: Annotated[int, typer.Option("--vocab", "-V", help="Vocabulary size V of the values.")] = 32000,
        accuracy: Annotated[float, typer.Option("--accuracy", "-A", help="Mean recall accuracy A.")] = 0.9,
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
            return
        if json_:
            emit_json(result.as_dict())
            return
        stdout.print(f"{FORMULA}")
        stdout.print(
            f"n = {state:g} scalars, p = {bits:g} bits ({result.state_bits:.4g} bits of state), "
            f"V = {vocab}, A = {accuracy}"
        )
        stdout.print(f"K <= [bold]{result.max_pairs:.6g}[/] key-value pairs")


def _latest_probe(arch_id: str) -> dict[str, Any] | None:
    """The latest stored probe run, if the database module exists and has one (never creates a db)."""
    try:
        from archclass import db  # type: ignore[attr-defined]
    except ImportError:
        return None
    finder = getattr(db, "latest_probe_summary", None)
    return finder(arch_id) if finder else None
