"""`archclass add`: scaffold a registry entry, insert it in sorted place, validate the result."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from archclass.cli.output import fail, stderr, stdout


def _ask(value: Any, prompt: str, interactive: bool, flag: str, default: Any = None) -> Any:
    if value not in (None, ""):
        return value
    if interactive:
        return typer.prompt(prompt, default=default) if default is not None else typer.prompt(prompt)
    if default is not None:
        return default
    raise typer.BadParameter(f"missing {flag} (or run in a terminal to be asked)", param_hint=flag)


def build_entry(fields: dict[str, Any]) -> Any:
    """A ruamel mapping in canonical key order, styled as the registry writes it."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    entry = CommentedMap()
    entry["id"] = fields["id"]
    entry["name"] = fields["name"]
    if fields["aliases"]:
        aliases = CommentedSeq(fields["aliases"])
        aliases.fa.set_flow_style()
        entry["aliases"] = aliases
    entry["year"] = fields["year"]
    entry["arxiv"] = SingleQuotedScalarString(fields["arxiv"])
    entry["family"] = fields["family"]
    entry["summary"] = fields["summary"]
    if fields["family"] == "hybrid":
        components = CommentedSeq()
        for arch, fraction in fields["components"]:
            component = CommentedMap(arch=arch, fraction=fraction)
            component.fa.set_flow_style()
            components.append(component)
        components.fa.set_flow_style()
        entry["components"] = components
    else:
        inference = CommentedMap()
        inference["per_step_compute"] = fields["compute"]
        inference["state_size"] = fields["state"]
        inference["retrieval"] = fields["retrieval"]
        inference["precision"] = "fixed"
        entry["inference"] = inference
    if fields["hyperparameters"]:
        hyper = CommentedMap()
        for symbol, (meaning, value) in fields["hyperparameters"].items():
            spec = CommentedMap(meaning=meaning)
            if value is not None:
                spec["value"] = value
            spec.fa.set_flow_style()
            hyper[symbol] = spec
        entry["hyperparameters"] = hyper
    entry["evidence"] = fields["evidence"]
    entry["confidence"] = fields["confidence"]
    return entry


def insert_sorted(text: str, entry_text: str, new_id: str) -> str:
    """Insert an entry's text before the first entry whose id sorts after it; touch nothing else."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("- id:")]
    for index in starts:
        existing = lines[index].split(":", 1)[1].strip().strip("'\"")
        if existing == new_id:
            raise ValueError(f"an entry with id {new_id!r} already exists")
        if existing > new_id:
            return "".join(lines[:index]) + entry_text + "\n" + "".join(lines[index:])
    body = "".join(lines)
    if body and not body.endswith("\n"):
        body += "\n"
    separator = "\n" if starts else ""
    return body + separator + entry_text


def _parse_hyper(items: list[str]) -> dict[str, tuple[str, float | None]]:
    result: dict[str, tuple[str, float | None]] = {}
    for item in items:
        symbol, sep, rest = item.partition("=")
        if not sep or not symbol.strip():
            raise typer.BadParameter(
                f"{item!r} is not SYMBOL=MEANING[:VALUE], e.g. w='window size:4096'", param_hint="--hyper"
            )
        meaning, _, value = rest.rpartition(":") if ":" in rest else (rest, "", "")
        try:
            number = float(value) if value else None
            if number is not None and number.is_integer():
                number = int(number)
        except ValueError:
            meaning, number = rest, None
        result[symbol.strip()] = (meaning.strip(), number)
    return result


def _parse_components(items: list[str]) -> list[tuple[str, float]]:
    components = []
    for item in items:
        arch, sep, fraction = item.partition("=")
        try:
            components.append((arch.strip(), float(fraction)))
        except ValueError:
            raise typer.BadParameter(
                f"{item!r} is not ARCH=FRACTION, e.g. mamba=0.875", param_hint="--component"
            ) from None
        if not sep:
            raise typer.BadParameter(f"{item!r} is not ARCH=FRACTION", param_hint="--component")
    return components


def register(app: typer.Typer) -> None:
    @app.command(
        epilog=(
            "Example: archclass add --id my-rnn --name 'My RNN' --year 2026 --arxiv 2601.01234 --family linear-rnn "
            "--summary '...' --compute 'O(d^2)' --state 'O(d^2)' --retrieval none --evidence 'Sec. 3, Eq. 5 ...'"
        )
    )
    def add(
        id_: Annotated[Optional[str], typer.Option("--id", help="Lower-case slug, e.g. my-rnn.")] = None,
        name: Annotated[Optional[str], typer.Option(help="Name as the paper writes it.")] = None,
        alias: Annotated[list[str], typer.Option("--alias", help="Another name people type (repeatable).")] = [],  # noqa: B006
        year: Annotated[Optional[int], typer.Option(help="Year of first publication.")] = None,
        arxiv: Annotated[Optional[str], typer.Option(help="arXiv id, e.g. 2307.08621.")] = None,
        family: Annotated[Optional[str], typer.Option(help="Family, e.g. ssm, linear-rnn, hybrid.")] = None,
        summary: Annotated[Optional[str], typer.Option(help="One sentence in your own words.")] = None,
        compute: Annotated[Optional[str], typer.Option(help="Per-step compute, e.g. 'O(d^2)'.")] = None,
        state: Annotated[Optional[str], typer.Option(help="State size, e.g. 'O(T d)'.")] = None,
        retrieval: Annotated[Optional[str], typer.Option(help="exact | approximate | none.")] = None,
        component: Annotated[
            list[str], typer.Option("--component", help="For hybrids: ARCH=FRACTION (repeatable).")
        ] = [],  # noqa: B006
        hyper: Annotated[list[str], typer.Option("--hyper", help="SYMBOL=MEANING[:VALUE] (repeatable).")] = [],  # noqa: B006
        evidence: Annotated[Optional[str], typer.Option(help="Where in the paper the scaling comes from.")] = None,
        confidence: Annotated[str, typer.Option(help="high | medium | low.")] = "medium",
        registry_file: Annotated[
            Optional[Path], typer.Option("--registry", envvar="ARCHCLASS_REGISTRY", help="Registry file.")
        ] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the entry; change nothing.")] = False,
    ) -> None:
        """Add an architecture: scaffold the entry, insert it in sorted place, validate the file.

        Missing fields are asked for when run in a terminal. Nothing is written unless the whole
        registry still validates with the new entry.
        """
        import io

        from archclass.fmt import _yaml
        from archclass.paths import registry_path
        from archclass.registry import validate_data
        from archclass.schema import FAMILIES
        from archclass.yamlio import YamlError, load_text

        interactive = sys.stdin.isatty()
        fields: dict[str, Any] = {
            "id": _ask(id_, "id (slug)", interactive, "--id"),
            "name": _ask(name, "name", interactive, "--name"),
            "aliases": alias,
            "year": int(_ask(year, "year", interactive, "--year")),
            "arxiv": _ask(arxiv, "arXiv id", interactive, "--arxiv"),
            "family": _ask(family, f"family ({', '.join(FAMILIES)})", interactive, "--family"),
            "summary": _ask(summary, "one-sentence summary", interactive, "--summary"),
            "hyperparameters": _parse_hyper(hyper),
            "confidence": confidence,
        }
        if fields["family"] == "hybrid":
            raw = component or [_ask(None, "component ARCH=FRACTION", interactive, "--component")]
            fields["components"] = _parse_components(raw)
        else:
            fields["compute"] = _ask(compute, "per-step compute, e.g. O(d^2)", interactive, "--compute")
            fields["state"] = _ask(state, "state size, e.g. O(T d)", interactive, "--state")
            fields["retrieval"] = _ask(retrieval, "retrieval (exact/approximate/none)", interactive, "--retrieval")
        fields["evidence"] = _ask(evidence, "evidence (section/equation in the paper)", interactive, "--evidence")

        from ruamel.yaml.comments import CommentedSeq

        stream = io.StringIO()
        _yaml().dump(CommentedSeq([build_entry(fields)]), stream)
        entry_text = stream.getvalue()
        if dry_run:
            stdout.out(entry_text, end="", highlight=False)
            return
        file_path = registry_file or registry_path()
        original = file_path.read_text(encoding="utf-8") if file_path.exists() else ""
        try:
            updated = insert_sorted(original, entry_text, fields["id"])
            entries, issues = validate_data(load_text(updated), str(file_path))
        except (ValueError, YamlError) as error:
            fail(f"{file_path}: {error}")
            return
        if issues:
            for issue in issues:
                stderr.print(str(issue), markup=False, soft_wrap=True)
            fail(f"not added: the registry would not validate with entry '{fields['id']}' (fix the flags above)")
        temporary = file_path.with_suffix(file_path.suffix + ".tmp")
        temporary.write_text(updated, encoding="utf-8")
        temporary.replace(file_path)
        stderr.print(
            f"added '{fields['id']}' to {file_path} ({len(entries)} entries); "
            f"next: archclass classify --arch {fields['id']}",
            markup=False,
        )
