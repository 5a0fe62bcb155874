"""Options shared by several commands, each defined once: --registry, --db, --json/--format, the
architecture to act on (positional ID or --arch), --device, --store, --output and --check of generated
files, and the filters of `list`, `query` and `export`."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from archclass.db.query import MAX_FILTER_CHARS
from archclass.db.query import MAX_INTEGER as MAX_LIMIT
from archclass.filters import READINGS, SORT_KEYS
from archclass.vocabulary import FAMILIES, PLACEMENTS, TAGS

if TYPE_CHECKING:
    from archclass.filters import Filters

#: A year above this is a usage error (the database's bounds are in archclass.db.query).
MAX_YEAR = 9999
OUTPUT_FORMATS = ("table", "json", "csv")

RegistryOption = Annotated[
    Optional[Path],
    typer.Option(
        "--registry",
        envvar="ARCHCLASS_REGISTRY",
        metavar="FILE",
        help="Registry YAML file (default: the bundled registry).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON to stdout.")]
JsonFormatOption = Annotated[bool, typer.Option("--json", help="Short for --format json.")]
DeviceOption = Annotated[str, typer.Option(help="cpu or cuda.")]
StoreOption = Annotated[bool, typer.Option("--store/--no-store", help="Record the runs in the database.")]
OutputOption = Annotated[
    Optional[Path],
    typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout.", show_default=False),
]
CheckOption = Annotated[
    bool, typer.Option("--check", help="Write nothing; exit 1 if FILE differs from what would be written.")
]
DbOption = Annotated[
    Optional[str],
    typer.Option(
        "--db",
        envvar="ARCHCLASS_DB",
        metavar="FILE|URL",
        help="Database: an SQLite file or an SQLAlchemy URL, e.g. for PostgreSQL (default: archclass.db in "
        "the user data directory; 'archclass db status' shows where).",
        show_default=False,
    ),
]


def _choice(choices: tuple[str, ...], what: str) -> Callable[[Any], Any]:
    """A callback accepting one of CHOICES, case-insensitively, for a single or a repeatable option."""
    canonical = {choice.casefold(): choice for choice in choices}

    def check(value: Any) -> Any:
        if value is None:
            return None
        values = [value] if isinstance(value, str) else list(value)
        for item in values:
            if item.strip().casefold() not in canonical:
                raise typer.BadParameter(f"unknown {what} {_short(item)}; choose from {', '.join(choices)}")
        chosen = [canonical[item.strip().casefold()] for item in values]
        return chosen[0] if isinstance(value, str) else chosen

    return check


def _short(value: str) -> str:
    """A value as it may appear in an error message: quoted, escaped, and cut to a readable length."""
    return repr(value[:40]) + (f" (cut from {len(value)} characters)" if len(value) > 40 else "")


FormatOption = Annotated[
    str,
    typer.Option(
        "--format", metavar="|".join(OUTPUT_FORMATS), callback=_choice(OUTPUT_FORMATS, "format"), help="Output format."
    ),
]


def output_format(format_: str, json_: bool) -> str:
    """The format asked for, where --json is short for --format json."""
    if json_ and format_ not in ("table", "json"):
        raise typer.BadParameter(f"--json conflicts with --format {format_}", param_hint="--json")
    return "json" if json_ else format_


def complete_arch(incomplete: str) -> list[str]:
    """Shell completion of architecture ids and aliases from the registry."""
    from archclass.errors import ArchclassError
    from archclass.registry import load_registry

    try:
        return load_registry(os.environ.get("ARCHCLASS_REGISTRY") or None).names_starting(incomplete)
    except ArchclassError:
        return []


ArchArgument = Annotated[
    Optional[str],
    typer.Argument(
        metavar="ID", help="Id, alias or name, case-insensitive.", show_default=False, autocompletion=complete_arch
    ),
]
ArchOption = Annotated[
    Optional[str],
    typer.Option("--arch", "-a", metavar="ID", help="The same, as an option.", autocompletion=complete_arch),
]


def chosen_arch(positional: str | None, option: str | None) -> str | None:
    """The architecture named either way (`show retnet` or `show --arch retnet`); both must agree."""
    if positional and option and positional.casefold() != option.casefold():
        raise typer.BadParameter(f"two architectures given: {positional!r} and --arch {option!r}", param_hint="ID")
    return positional or option


def _search(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_FILTER_CHARS:
        raise typer.BadParameter(f"search text is {len(value)} characters; at most {MAX_FILTER_CHARS} are allowed")
    return value or None


def _repeatable(flag: str, short: str, metavar: str, choices: tuple[str, ...], help: str) -> Any:
    return typer.Option(flag, short, metavar=metavar, callback=_choice(choices, metavar.lower()), help=help)


_FLAG, _CHOSEN, _YEAR, _TEXT = Optional[bool], Optional[list[str]], Optional[int], Optional[str]
_FAMILY_HELP = "Only this family, e.g. ssm, hybrid (repeatable)."
_TAG_HELP = "Only with this mechanism, e.g. delta-rule (repeatable: all)."
_PLACEMENT_HELP, _SEARCH_HELP = f"Only {', '.join(PLACEMENTS)} (repeatable).", "Text in the id, name or an alias."
_READING_HELP = "fixed: knobs held constant; recipe: the paper's knobs grown with T (entries without one: fixed)."


def _chosen(flag: str, metavar: str, choices: tuple[str, ...], what: str, help: str) -> Any:
    return typer.Option(flag, metavar=metavar, callback=_choice(choices, what), help=help)


def _year(flag: str, help: str) -> Any:
    return typer.Option(flag, min=0, max=MAX_YEAR, metavar="YEAR", help=help)


# Each filter as (type, default, option), named as the Filters field it fills.
_FILTERS: dict[str, tuple[Any, Any, Any]] = {
    "efficient": (_FLAG, None, typer.Option("--efficient/--not-efficient", help="Only (not) efficient.")),
    "compact": (_FLAG, None, typer.Option("--compact/--not-compact", help="Only (not) compact.")),
    "recall": (_FLAG, None, typer.Option("--recall/--no-recall", help="Only with (without) recall.")),
    "hybrid": (_FLAG, None, typer.Option("--hybrid/--pure", help="Only hybrids, or only pure ones.")),
    "placements": (_CHOSEN, None, _repeatable("--placement", "-p", "PLACEMENT", PLACEMENTS, _PLACEMENT_HELP)),
    "families": (_CHOSEN, None, _repeatable("--family", "-f", "FAMILY", FAMILIES, _FAMILY_HELP)),
    "tags": (_CHOSEN, None, _repeatable("--tag", "-t", "TAG", TAGS, _TAG_HELP)),
    "reading": (str, "fixed", _chosen("--reading", "READING", READINGS, "reading", _READING_HELP)),
    "year_from": (_YEAR, None, _year("--year-from", "Published in or after YEAR.")),
    "year_to": (_YEAR, None, _year("--year-to", "Published in or before YEAR.")),
    "search": (_TEXT, None, typer.Option("--search", "-s", metavar="TEXT", callback=_search, help=_SEARCH_HELP)),
    "sort": (str, "id", _chosen("--sort", "KEY", SORT_KEYS, "sort key", f"Sort by {', '.join(SORT_KEYS)}.")),
    "descending": (bool, False, typer.Option("--desc", help="Sort in descending order.")),
    "limit": (Optional[int], None, typer.Option("--limit", min=1, max=MAX_LIMIT, metavar="N", help="At most N rows.")),
}  # fmt: skip
FILTER_PARAMETERS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, option])
    for name, (kind, default, option) in _FILTERS.items()
]


def with_filters(command: Callable[..., None]) -> Callable[..., None]:
    """Give COMMAND the shared filter options; it receives them as one argument, `filters: Filters`."""
    signature = inspect.signature(command, eval_str=True)
    own = [p.replace(kind=p.KEYWORD_ONLY) for name, p in signature.parameters.items() if name != "filters"]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        command(filters=filters_from(**{name: kwargs.pop(name) for name in _FILTERS}), **kwargs)

    parameters = [*FILTER_PARAMETERS, *own]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper


def filters_from(**values: Any) -> Filters:
    """The Filters the options describe; a year range that ends before it starts is a usage error."""
    from archclass.filters import Filters

    start, end = values.get("year_from"), values.get("year_to")
    if start is not None and end is not None and start > end:
        raise typer.BadParameter(f"--year-from {start} is after --year-to {end}", param_hint="--year-from")
    repeatable = ("placements", "families", "tags")
    fields: dict[str, Any] = {key: tuple(value or ()) if key in repeatable else value for key, value in values.items()}
    return Filters(**fields)
