"""Commands that use the database: db upgrade, db status, sync, query, export.

The first of them to run creates the database (default: an SQLite file in the user data directory;
``--db`` or ``ARCHCLASS_DB`` for another file or any SQLAlchemy URL), migrates it to the newest schema
and syncs it from the registry; later runs re-sync only when the registry changed. SQLAlchemy, SQLModel
and Alembic are imported inside the command bodies so that ``archclass --help`` stays fast, and nothing
here imports torch or matplotlib.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from archclass.cli.options import DbOption, JsonOption, RegistryOption
from archclass.cli.output import emit_json, stderr, stdout
from archclass.errors import ArchclassError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from archclass.filters import Filters

#: Longest value accepted for a text filter; longer values are refused with a one-line usage error.
MAX_FILTER_CHARS = 200


class SortKey(StrEnum):
    id = "id"
    name = "name"
    year = "year"
    family = "family"
    placement = "placement"


class QueryFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"
    markdown = "markdown"
    bibtex = "bibtex"


def _short(value: str) -> str:
    """A value as it may appear in an error message: quoted, escaped, and cut to a readable length."""
    shown = repr(value[:40])
    return shown + (f" (cut from {len(value)} characters)" if len(value) > 40 else "")


def _families(values: list[str] | None) -> list[str]:
    from archclass.schema import FAMILIES

    result = []
    for value in values or []:
        key = value.strip().casefold()
        if key not in FAMILIES:
            raise typer.BadParameter(f"unknown family {_short(value)}; choose from {', '.join(FAMILIES)}")
        result.append(key)
    return result


def _placements(values: list[str] | None) -> list[str]:
    from archclass.classifier import PLACEMENTS

    canonical = {p.casefold(): p for p in PLACEMENTS}
    result = []
    for value in values or []:
        key = value.strip().casefold()
        if key not in canonical:
            raise typer.BadParameter(f"unknown placement {_short(value)}; choose from {', '.join(PLACEMENTS)}")
        result.append(canonical[key])
    return result


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
YearFromOption = Annotated[Optional[int], typer.Option("--year-from", min=0, help="Published in or after this year.")]
YearToOption = Annotated[Optional[int], typer.Option("--year-to", min=0, help="Published in or before this year.")]
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
SortOption = Annotated[SortKey, typer.Option("--sort", help="Sort by this column (then by id).")]
DescendingOption = Annotated[bool, typer.Option("--desc", help="Sort in descending order.")]
LimitOption = Annotated[Optional[int], typer.Option("--limit", min=1, help="At most this many rows.")]


def _filters(
    efficient: bool | None,
    compact: bool | None,
    recall: bool | None,
    hybrid: bool | None,
    placement: list[str] | None,
    family: list[str] | None,
    year_from: int | None,
    year_to: int | None,
    search: str | None,
    sort: SortKey,
    desc: bool,
    limit: int | None,
) -> Filters:
    from archclass.filters import Filters

    if year_from is not None and year_to is not None and year_from > year_to:
        raise typer.BadParameter(f"--year-from {year_from} is after --year-to {year_to}", param_hint="--year-from")
    return Filters(
        efficient=efficient,
        compact=compact,
        recall=recall,
        hybrid=hybrid,
        placements=tuple(placement or ()),
        families=tuple(family or ()),
        year_from=year_from,
        year_to=year_to,
        search=search,
        sort=sort.value,
        descending=desc,
        limit=limit,
    )


@contextmanager
def _database(db: str | None, registry: Path | None = None, *, sync: bool = True) -> Iterator[Engine]:
    """The ready database (created, upgraded, synced); database errors become one line."""
    from archclass.db import open_database

    with _database_errors(db):
        engine, result = open_database(db, registry, sync=sync)
        try:
            if result.created:
                stderr.print(f"created database {_shown(engine)} (schema {result.head})", markup=False, soft_wrap=True)
            elif result.upgraded_from:
                stderr.print(
                    f"upgraded database {_shown(engine)} from {', '.join(result.upgraded_from)} to {result.head}",
                    markup=False,
                    soft_wrap=True,
                )
            if result.synced is not None and not result.synced.skipped:
                stderr.print(
                    f"synced {result.synced.counts.get('architectures', 0)} entries from {result.synced.registry}",
                    markup=False,
                    soft_wrap=True,
                )
            yield engine
        finally:
            engine.dispose()


@contextmanager
def _database_errors(db: str | None) -> Iterator[None]:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as error:
        from archclass.db import resolve_url
        from archclass.db.engine import display_url

        orig = getattr(error, "orig", None)
        reason = str(orig if orig is not None else error).strip().splitlines()
        raise ArchclassError(
            f"database error on {display_url(resolve_url(db))}: {reason[0] if reason else type(error).__name__}"
        ) from None


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ArchclassError(f"cannot write {output}: {error.strerror}") from None
    stderr.print(f"wrote {output}", markup=False, soft_wrap=True)


def _status(db: str | None, registry: Path | None) -> tuple[dict[str, Any], str | None]:
    """The status report, and an error line when the database is unusable by this archclass."""
    from archclass.db import migrate, resolve_url
    from archclass.db.engine import display_url, make_engine, read_transaction
    from archclass.db.location import sqlite_file
    from archclass.db.sync import SYNC_KEYS, read_meta, read_source

    url = resolve_url(db)
    report: dict[str, Any] = {
        "database": display_url(url),
        "exists": True,
        "current_revision": None,
        "head_revision": migrate.head_revision(),
        "up_to_date": False,
        "registry": None,
        "registry_sha256": None,
        "synced": None,
        "in_step": False,
        "entries": None,
        "probe_runs": None,
        "recall_runs": None,
    }
    problem = None
    try:
        source = read_source(registry)
        report["registry"] = str(source.path)
        report["registry_sha256"] = source.registry_sha256
    except ArchclassError as error:
        source = None
        problem = str(error)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        report["exists"] = False
        return report, problem
    from sqlalchemy import func, inspect, select

    from archclass.db.models import metadata

    engine = make_engine(url)
    try:
        with _database_errors(db), read_transaction(engine) as connection:
            current = migrate.current_revisions(connection)
            report["current_revision"] = ", ".join(current) or None
            try:
                state = migrate.revision_state(connection)
            except migrate.SchemaTooNew as error:
                return report, str(error)
            report["up_to_date"] = state.at_head
            if not state.at_head:
                return report, problem
            meta = read_meta(connection)
            report["synced"] = {
                "registry": meta.get("registry_path"),
                "registry_sha256": meta.get("registry_sha256"),
                "synced_at": meta.get("synced_at"),
                **{key: meta.get(key) for key in SYNC_KEYS if key != "registry_sha256"},
            }
            report["in_step"] = source is not None and all(meta.get(k) == v for k, v in source.fingerprint.items())
            names = set(inspect(connection).get_table_names())
            for key, table in (
                ("entries", "architectures"),
                ("probe_runs", "probe_runs"),
                ("recall_runs", "recall_runs"),
            ):
                if table in names:
                    report[key] = connection.execute(select(func.count()).select_from(metadata.tables[table])).scalar()
    finally:
        engine.dispose()
    return report, problem


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(
        name="db",
        help="Create, upgrade and inspect the archclass database.\n\nExample: archclass db status",
        no_args_is_help=True,
        rich_markup_mode="rich",
    )
    app.add_typer(db_app, name="db")

    @db_app.command("upgrade", epilog="Example: archclass db upgrade --db ./archclass.db")
    def db_upgrade(db: DbOption = None, json_: JsonOption = False) -> None:
        """Create the database if needed and migrate it to the newest schema.

        Never downgrades: a database written by a newer archclass is refused and left as it is.
        """
        from archclass.db import migrate, resolve_url
        from archclass.db.engine import make_engine, read_transaction

        engine = make_engine(resolve_url(db))
        try:
            with _database_errors(db):
                with read_transaction(engine) as connection:
                    before = migrate.revision_state(connection)
                after = migrate.upgrade(engine)
        finally:
            engine.dispose()
        result = {
            "database": _shown(engine),
            "previous_revision": ", ".join(before.current) or None,
            "current_revision": ", ".join(after.current) or None,
            "head_revision": after.head,
            "upgraded": before.current != after.current,
        }
        if json_:
            emit_json(result)
        elif result["upgraded"]:
            stdout.print(
                f"{result['database']}: upgraded from {result['previous_revision'] or 'an empty database'} "
                f"to {result['current_revision']} (head)",
                markup=False,
                soft_wrap=True,
            )
        else:
            stdout.print(
                f"{result['database']}: already at head {result['head_revision']}", markup=False, soft_wrap=True
            )

    @db_app.command("status", epilog="Example: archclass db status --json")
    def db_status(db: DbOption = None, registry_file: RegistryOption = None, json_: JsonOption = False) -> None:
        """Show where the database is, its schema revision and the code's head, the registry hash it was
        synced from, and how many entries, probe runs and recall runs it holds. Creates nothing.

        Exit code 1 when the database was written by a newer archclass or the registry cannot be read.
        """
        report, problem = _status(db, registry_file)
        if json_:
            emit_json({**report, "error": problem})
        else:
            lines = [f"database        {report['database']}"]
            if not report["exists"]:
                lines.append("                not created yet (the first query or sync creates it)")
            lines.append(
                f"revision        {report['current_revision'] or '-'} (head {report['head_revision']}"
                + (", up to date)" if report["up_to_date"] else ")")
            )
            lines.append(f"registry        {report['registry'] or '-'}")
            lines.append(f"registry sha256 {report['registry_sha256'] or '-'}")
            synced = report["synced"] or {}
            if synced.get("registry_sha256"):
                lines.append(
                    f"synced          {synced.get('synced_at')} from sha256 {synced['registry_sha256'][:12]}"
                    + (" (in step)" if report["in_step"] else " (stale: the next query re-syncs)")
                )
            else:
                lines.append("synced          never")
            lines.append(f"entries         {report['entries'] if report['entries'] is not None else '-'}")
            lines.append(f"probe runs      {report['probe_runs'] if report['probe_runs'] is not None else '-'}")
            lines.append(f"recall runs     {report['recall_runs'] if report['recall_runs'] is not None else '-'}")
            for line in lines:
                stdout.print(line, markup=False, highlight=False, soft_wrap=True)
        if problem:
            if not json_:
                stderr.print(f"error: {problem}", markup=False, soft_wrap=True)
            raise typer.Exit(1)

    @app.command(epilog="Example: archclass sync --json")
    def sync(db: DbOption = None, registry_file: RegistryOption = None, json_: JsonOption = False) -> None:
        """Validate the registry and replace the database's copy of it in one transaction.

        Every entry is validated and classified before anything is written, so a bad entry changes
        nothing; a failure while writing rolls the whole sync back. Queries sync automatically when the
        registry changes, so this is rarely needed by hand.
        """
        from archclass.db import migrate, resolve_url
        from archclass.db.engine import make_engine
        from archclass.db.sync import sync_registry

        engine = make_engine(resolve_url(db))
        try:
            with _database_errors(db):
                migrate.upgrade(engine)
                result = sync_registry(engine, registry_file, force=True)
        finally:
            engine.dispose()
        summary = {**result.as_dict(), "database": _shown(engine)}
        if json_:
            emit_json(summary)
            return
        change = "registry changed" if result.changed else "registry unchanged"
        stdout.print(
            f"synced {summary['entries']} entries ({summary['rows']['aliases']} aliases, "
            f"{summary['rows']['hybrid_components']} hybrid components, {summary['rows']['rule_firings']} rule "
            f"firings) from {result.registry} into {summary['database']} in {result.seconds:.2f} s ({change})",
            markup=False,
            soft_wrap=True,
        )

    @app.command(
        epilog=(
            "Examples: archclass query --efficient --compact  (all compact and efficient models);  "
            "archclass query --family ssm --sort year --json;  archclass query --placement R --format csv"
        )
    )
    def query(
        efficient: EfficientOption = None,
        compact: CompactOption = None,
        recall: RecallOption = None,
        hybrid: HybridOption = None,
        placement: PlacementOption = None,
        family: FamilyOption = None,
        year_from: YearFromOption = None,
        year_to: YearToOption = None,
        search: SearchOption = None,
        sort: SortOption = SortKey.id,
        desc: DescendingOption = False,
        limit: LimitOption = None,
        format_: Annotated[QueryFormat, typer.Option("--format", help="Output format.")] = QueryFormat.table,
        json_: Annotated[bool, typer.Option("--json", help="Short for --format json.")] = False,
        db: DbOption = None,
        registry_file: RegistryOption = None,
    ) -> None:
        """Select architectures from the database by their properties and placement.

        Filters combine with AND; a repeated --family or --placement matches any of its values. The
        database is created and synced from the registry on first use, and re-synced when the registry
        changes. JSON output is a list of objects with id, name, year, family, placement, efficient,
        compact, recall, hybrid, arxiv, url, compute_growth, state_growth, position and max_pairs.
        """
        from archclass.db.engine import read_transaction
        from archclass.db.export import query_csv
        from archclass.db.query import run_query

        if json_:
            if format_ not in (QueryFormat.table, QueryFormat.json):
                raise typer.BadParameter(f"--json conflicts with --format {format_.value}", param_hint="--json")
            format_ = QueryFormat.json
        filters = _filters(
            efficient, compact, recall, hybrid, placement, family, year_from, year_to, search, sort, desc, limit
        )
        with _database(db, registry_file) as engine, _database_errors(db), read_transaction(engine) as connection:
            rows = run_query(connection, filters)
        if format_ is QueryFormat.json:
            emit_json(rows)
        elif format_ is QueryFormat.csv:
            sys.stdout.write(query_csv(rows))
        else:
            _print_table(rows)

    @app.command(
        epilog=(
            "Examples: archclass export --format bibtex -o papers.bib;  "
            "archclass export --format markdown --efficient --compact"
        )
    )
    def export(
        format_: Annotated[ExportFormat, typer.Option("--format", help="Output format.")] = ExportFormat.json,
        json_: Annotated[bool, typer.Option("--json", help="Short for --format json.")] = False,
        output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file.")] = None,
        efficient: EfficientOption = None,
        compact: CompactOption = None,
        recall: RecallOption = None,
        hybrid: HybridOption = None,
        placement: PlacementOption = None,
        family: FamilyOption = None,
        year_from: YearFromOption = None,
        year_to: YearToOption = None,
        search: SearchOption = None,
        sort: SortOption = SortKey.id,
        desc: DescendingOption = False,
        db: DbOption = None,
        registry_file: RegistryOption = None,
    ) -> None:
        """Export the database's architectures (all, or those matching the query filters).

        json: every field with aliases, components, classification and the rules that fired; csv: one
        flat row each; markdown: a table with links to the papers; bibtex: one @misc per cited paper
        (arXiv papers with eprint and archivePrefix, others with howpublished).
        """
        import json

        from archclass.db.engine import read_transaction
        from archclass.db.export import records_bibtex, records_csv, records_markdown
        from archclass.db.query import full_records

        if json_ and format_ is not ExportFormat.json:
            raise typer.BadParameter(f"--json conflicts with --format {format_.value}", param_hint="--json")
        filters = _filters(
            efficient, compact, recall, hybrid, placement, family, year_from, year_to, search, sort, desc, None
        )
        with _database(db, registry_file) as engine, _database_errors(db), read_transaction(engine) as connection:
            records = full_records(connection, filters)
        if format_ is ExportFormat.json:
            text = json.dumps(records, indent=2, ensure_ascii=False) + "\n"
        elif format_ is ExportFormat.csv:
            text = records_csv(records)
        elif format_ is ExportFormat.markdown:
            text = records_markdown(records)
        else:
            text = records_bibtex(records)
        _write(text, output)


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not rows:
        stderr.print("no architectures match", markup=False, soft_wrap=True)
        return
    table = Table(
        "id",
        "name",
        "year",
        "family",
        "placement",
        "E",
        "C",
        "R",
        "citation",
        title=f"{len(rows)} architecture{'s' if len(rows) != 1 else ''}",
    )
    for row in rows:
        flags = ["yes" if row[p] else "no" for p in ("efficient", "compact", "recall")]
        citation = f"arXiv:{row['arxiv']}" if row["arxiv"] else (row["url"] or "")
        table.add_row(
            escape(row["id"]),
            escape(row["name"]),
            str(row["year"]),
            escape(row["family"]),
            row["placement"],
            *flags,
            escape(citation),
        )
    stdout.print(table)
