"""How registry answers read to a person: numbers, growth phrases, a classification, an entry, a list.

Everything here returns text (Rich markup) or Rich tables; printing is the CLI's job. Nothing here
imports torch or matplotlib: classify, show and list stand on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from archclass.classifier import Classification
    from archclass.schema import Architecture


def number(value: float) -> str:
    """A number as a person reads it: 8 not 8.0, 67,108,864 not 6.711e+07, 0.4375 not 0.438."""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4g}"


def percent(fraction: float) -> str:
    """0.125 as 12.5%, 1/3 as 33.33%."""
    return f"{fraction * 100:.4g}%"


def growth(phrase: str | None) -> str:
    """How a quantity grows with T, as a table cell: '1' (the growth of a constant) reads 'constant'."""
    return "constant" if phrase == "1" else (phrase or "unknown")


def grows(phrase: str | None) -> str:
    """The same as a predicate: 'is constant', or 'grows as T log T'."""
    return "is constant" if phrase == "1" else f"grows as {growth(phrase)}"


def citation(arxiv: str | None, url: str | None) -> str:
    """arXiv:ID when there is one, else the address without its scheme."""
    return f"arXiv:{arxiv}" if arxiv else (url or "").split("://")[-1]


def placements_table(results: list[Classification]) -> Table:
    """`classify --all`: one row per entry, its placement, position and growth."""
    table = Table(title=f"{len(results)} architectures (the rules: classify ID)")
    for column in ("id", "placement", "E", "C", "R", "compute", "state"):
        table.add_column(column, no_wrap=True)
    for r in results:
        position = (number(p) for p in r.position)
        table.add_row(r.id, r.placement, *position, growth(r.compute_growth), growth(r.state_growth))
    return table


def placement_line(result: Classification) -> str:
    """Where the entry sits: a pure architecture on a vertex, an edge or the centre; a hybrid inside."""
    position = ", ".join(number(p) for p in result.position)
    if result.hybrid:
        return f"placement {result.placement}; a hybrid, so it sits inside the triangle at (E, C, R) = ({position})"
    where = {1: "a vertex", 2: "an edge"}.get(len(result.placement), "the centre")
    return f"placement {result.placement} ({where}); position (E, C, R) = ({position})"


def classification_lines(entry: Architecture, result: Classification) -> list[str]:
    """`classify ID`: the three properties, the placement, the rules that fired, the bound and the recipe."""
    flags = "  ".join(
        f"{name} [bold]{'yes' if value else 'no'}[/]"
        for name, value in (("efficient", result.efficient), ("compact", result.compact), ("recall", result.recall))
    )
    lines = [
        f"[bold]{escape(entry.name)}[/] ({entry.id}, {entry.year}, {entry.family})",
        f"  {flags}",
        f"  {placement_line(result)}",
        f"  per-step compute {grows(result.compute_growth)}; state {grows(result.state_growth)}",
        "  rules fired:",
    ]
    for firing in result.rules:
        mark = "+" if firing.value else "-"
        lines.append(f"    {mark} {firing.property:9} [cyan]{firing.rule}[/]: {escape(firing.explanation)}")
    if result.bound is not None:
        lines.append(f"  recall bound (E and C imply not R): {result.bound['formula']}")
        lines.append(f"    {escape(bound_sentence(result.bound))}")
    if result.recipe is not None:
        lines += recipe_lines(entry, result.recipe)
    return lines


def recipe_lines(entry: Architecture, recipe: Classification) -> list[str]:
    """The second reading: the paper's own recipe grows a knob with T (rules.yaml explains both)."""
    grown = ", ".join(f"{symbol} = {formula}" for symbol, formula in (entry.recipe or {}).items())
    lines = [
        f"  the paper's recipe ({escape(grown) or 'from its components'}): [bold]{recipe.placement}[/]",
        f"    per-step compute {grows(recipe.compute_growth)}; state {grows(recipe.state_growth)}",
    ]
    for firing in recipe.rules:
        lines.append(f"    {'+' if firing.value else '-'} {firing.property:9} [cyan]{firing.rule}[/]")
    return lines


def bound_sentence(bound: Mapping[str, Any]) -> str:
    """The recall bound with its inputs, or why it was not evaluated."""
    if not bound.get("evaluated"):
        return f"not evaluated: {bound['reason']}"
    return (
        f"n = {number(bound['n'])} state scalars ({bound['layers']} layers x "
        f"{number(bound['state_scalars_per_layer'])}, {bound['state_from']}, d = {number(bound['d'])}), "
        f"p = {number(bound['p'])} bits, V = {number(bound['V'])}, A = {number(bound['A'])}:  "
        f"K <= {number(int(bound['max_pairs']))} pairs, at any sequence length"
    )


def bound_inputs(state: float, bits: float, vocab: float, accuracy: float, state_bits: float) -> str:
    """`bound`: the numbers the bound was computed from."""
    n = number
    inputs = f"n = {n(state)} scalars, p = {n(bits)} bits ({n(state_bits)} bits of state)"
    return f"{inputs}, V = {n(vocab)}, A = {n(accuracy)}"


def entry_lines(entry: Architecture, result: Classification, probe: Mapping[str, Any] | None) -> list[str]:
    """`show ID`: citation, scaling, hyperparameters, evidence, placement and the latest stored probe."""
    web = (entry.url or "").removeprefix("https://").removeprefix("http://")
    lines = [
        f"[bold]{escape(entry.name)}[/]  [dim]{entry.id}[/]",
        f"  {entry.year}, {entry.family}, {f'arXiv:{entry.arxiv}' if entry.arxiv else web}",
    ]
    if entry.aliases:
        lines.append(f"  aliases: {', '.join(entry.aliases)}")
    lines.append(f"  {escape(entry.summary)}")
    if entry.inference:
        inf = entry.inference
        exactly = f" (exactly {inf.state_scalars})" if inf.state_scalars else ""
        lines.append(
            f"  per-step compute {inf.per_step_compute}; state {inf.state_size}{exactly}; "
            f"retrieval {inf.retrieval}; precision {inf.precision}"
        )
    lines += [f"  component {c.arch}: {percent(c.fraction)} of layers" for c in entry.components or []]
    for symbol, spec in entry.hyperparameters.items():
        meaning = spec if isinstance(spec, str) else spec.meaning
        typical = f" (typically {number(spec.value)})" if not isinstance(spec, str) and spec.value is not None else ""
        lines.append(f"  {symbol}: {escape(meaning)}{typical}")
    lines.append(f"  evidence ({entry.confidence} confidence): {escape(entry.evidence)}")
    if entry.notes:
        lines.append(f"  notes: {escape(entry.notes)}")
    if entry.reference:
        lines.append(f"  reference implementation: {entry.reference} (archclass probe --arch {entry.id})")
    lines.append(f"  {placement_line(result)}")
    if probe:
        lines.append(
            f"  latest probe ({probe.get('created_at', '?')}, {probe.get('device', '?')}): "
            f"measured placement {probe.get('placement')}, state {probe.get('state_growth')}, "
            f"compute {probe.get('compute_growth')}"
        )
    return lines


def rows_table(rows: list[dict[str, Any]]) -> Table:
    """`list`: the selected rows with their placement and citation."""
    table = Table("id", "name", "year", "family", "placement", "citation", title=f"{len(rows)} architectures")
    for row in rows:
        cells = (row["id"], row["name"], str(row["year"]), row["family"], row["placement"])
        table.add_row(*(escape(cell) for cell in (*cells, citation(row["arxiv"], row["url"]))))
    return table
