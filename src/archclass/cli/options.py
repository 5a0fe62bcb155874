"""Options shared by several commands, each defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from archclass.db.query import MAX_FILTER_CHARS, MAX_INTEGER
from archclass.filters import READINGS, SORT_KEYS

#: The last year a filter accepts (years are stored as integers; a larger one is a typo).
MAX_YEAR = 9999

RegistryOption = Annotated[
    Optional[Path],
    typer.Option(
        "--registry",
        envvar="ARCHCLASS_REGISTRY",
        help="Registry YAML file (default: the bundled data/architectures.yaml).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON to stdout.")]
DbOption = Annotated[
    Optional[str],
    typer.Option(
        "--db",
        envvar="ARCHCLASS_DB",
        help="Database: a file path (SQLite) or an SQLAlchemy URL such as sqlite:///archclass.db or "
        "postgresql+psycopg://user:pass@host/dbname. Default: archclass.db in the user data directory "
        "($XDG_DATA_HOME/archclass or ~/.local/share/archclass on Linux); 'archclass db status' shows it.",
        show_default=False,
    ),
]


# Filters of `query` and `export` (and of any command that selects architectures the same way).


def _short(value: str) -> str:
    """A value as it may appear in an error message: quoted, escaped, and cut to a readable length."""
    shown = repr(value[:40])
    return shown + (f" (cut from {len(value)} characters)" if len(value) > 40 else "")


def _choices(values: list[str] | None, allowed: tuple[str, ...], what: str) -> list[str]:
    """VALUES matched case-insensitively against ALLOWED, in their canonical spelling; else a usage error."""
    canonical = {choice.casefold(): choice for choice in allowed}
    chosen = []
    for value in values or []:
        key = value.strip().casefold()
        if key not in canonical:
            raise typer.BadParameter(f"unknown {what} {_short(value)}; choose from {', '.join(allowed)}")
        chosen.append(canonical[key])
    return chosen


def _families(values: list[str] | None) -> list[str]:
    from archclass.vocabulary import FAMILIES

    return _choices(values, FAMILIES, "family")


def _placements(values: list[str] | None) -> list[str]:
    from archclass.vocabulary import PLACEMENTS

    return _choices(values, PLACEMENTS, "placement")


def _tags(values: list[str] | None) -> list[str]:
    from archclass.vocabulary import TAGS

    return _choices(values, TAGS, "tag")


def _reading(value: str) -> str:
    return _choices([value], READINGS, "reading")[0]


def _sort(value: str) -> str:
    return _choices([value], SORT_KEYS, "sort key")[0]


def _search(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_FILTER_CHARS:
        raise typer.BadParameter(f"search text is {len(value)} characters; at most {MAX_FILTER_CHARS} are allowed")
    return value or None


EfficientOption = Annotated[
    Optional[bool], typer.Option("--efficient/--not-efficient", help="Only (not) efficient: O(1) work per step.")
]
CompactOption = Annotated[
    Optional[bool], typer.Option("--compact/--not-compact", help="Only (not) compact: O(1) state scalars.")
]
RecallOption = Annotated[
    Optional[bool], typer.Option("--recall/--no-recall", help="Only architectures with (without) Theta(T) recall.")
]
HybridOption = Annotated[
    Optional[bool], typer.Option("--hybrid/--pure", help="Only hybrids (compositions), or only pure architectures.")
]
PlacementOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--placement",
        "-p",
        callback=_placements,
        metavar="EC|ER|CR|E|C|R|none",
        help="Only this edge or vertex of the triangle (repeatable; case-insensitive).",
    ),
]
FamilyOption = Annotated[
    Optional[list[str]],
    typer.Option("--family", "-f", callback=_families, help="Only this family, e.g. ssm, hybrid (repeatable)."),
]
TagOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--tag",
        "-t",
        callback=_tags,
        help="Only architectures with this mechanism tag, e.g. delta-rule (repeatable: all).",
    ),
]
ReadingOption = Annotated[
    str,
    typer.Option(
        "--reading",
        callback=_reading,
        metavar="|".join(READINGS),
        help="Classify with fixed knobs, or with the knobs each paper's recipe grows with T (entries without a "
        "recipe keep their fixed reading).",
    ),
]
YearFromOption = Annotated[
    Optional[int], typer.Option("--year-from", min=0, max=MAX_YEAR, help="Published in or after this year.")
]
YearToOption = Annotated[
    Optional[int], typer.Option("--year-to", min=0, max=MAX_YEAR, help="Published in or before this year.")
]
SearchOption = Annotated[
    Optional[str],
    typer.Option(
        "--search",
        "-s",
        callback=_search,
        help="Case-insensitive substring of the id, name or an alias (matched literally: % and _ are "
        "ordinary characters).",
    ),
]
SortOption = Annotated[
    str, typer.Option("--sort", callback=_sort, metavar="|".join(SORT_KEYS), help="Sort by this column (then by id).")
]
DescendingOption = Annotated[bool, typer.Option("--desc", help="Sort in descending order.")]
LimitOption = Annotated[Optional[int], typer.Option("--limit", min=1, max=MAX_INTEGER, help="At most this many rows.")]
