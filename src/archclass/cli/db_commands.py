"""Commands that use the database: db upgrade, db status, sync, query, export, datasette-metadata.

Each command reads its options, calls one function of :mod:`archclass.db` and prints what it returns.
The first of them to run creates the database (default: an SQLite file in the user data directory;
``--db`` or ``ARCHCLASS_DB`` for another file or any SQLAlchemy URL), migrates it to the newest schema
and syncs it from the registry. SQLAlchemy, SQLModel and Alembic are imported inside the command bodies
so that ``archclass --help`` stays fast, and nothing here imports torch or matplotlib.
"""

from __future__ import annotations

from typing import Annotated

import typer

from archclass.cli.options import (
    CheckOption,
    DbOption,
    FormatOption,
    JsonFormatOption,
    JsonOption,
    OutputOption,
    RegistryOption,
    output_format,
    with_filters,
)
from archclass.cli.output import emit_json, note, print_rows, say, write_output
from archclass.db.export import ExportFormat
from archclass.filters import Filters  # at run time: with_filters resolves the annotation


def db_upgrade(db: DbOption = None, json_: JsonOption = False) -> None:
    """Create the database if needed and migrate it to the newest schema.

    Never downgrades: a database written by a newer archclass, or not by archclass at all, is refused and
    left as it is.
    """
    from archclass.db.migrate import upgrade_database
    from archclass.db.report import upgrade_line

    report = upgrade_database(db)
    if json_:
        emit_json(report.as_dict())
    else:
        say(upgrade_line(report))


def db_status(db: DbOption = None, registry_file: RegistryOption = None, json_: JsonOption = False) -> None:
    """Show where the database is, its schema revision and the code's head, the registry hash it was
    synced from, and how many entries, probe runs and recall runs it holds. Creates nothing.

    Exit code 1 when the database was written by a newer archclass or by another program, or the registry
    cannot be read.
    """
    from archclass.db.status import database_status

    report = database_status(db, registry_file)
    if json_:
        emit_json(report.as_dict())
    else:
        for line in report.lines():
            say(line)
        if report.error:
            note(f"error: {report.error}")
    if report.error:
        raise typer.Exit(1)


def sync(
    db: DbOption = None,
    registry_file: RegistryOption = None,
    results: Annotated[
        bool,
        typer.Option(
            "--results",
            help="Also load the measured probe and recall runs committed under results/ (replacing those "
            "loaded from the same files before).",
        ),
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Validate the registry and replace the database's copy of it in one transaction.

    Every entry is validated and classified before anything is written, so a bad entry changes nothing; a
    failure while writing rolls the whole sync back. Queries sync automatically when the registry
    changes, so this is rarely needed by hand; --results is how the committed measurements get in.
    """
    from archclass.db.report import sync_lines
    from archclass.db.sync import sync_database

    result = sync_database(db, registry_file, results=results)
    if json_:
        emit_json(result.as_dict())
        return
    for line in sync_lines(result):
        say(line)


@with_filters
def query(
    filters: Filters,
    format_: FormatOption = "table",
    json_: JsonFormatOption = False,
    db: DbOption = None,
    registry_file: RegistryOption = None,
) -> None:
    """Select architectures from the database by their properties and placement.

    Filters combine with AND; a repeated --family or --placement matches any of its values, a repeated
    --tag all of them. The database is created and synced from the registry on first use, and re-synced
    when the registry changes. JSON output is a list of records (id, name, title, authors, year, family,
    tags, placement, efficient, compact, recall, hybrid, per_step_compute, state_size, compute_growth,
    state_growth, confidence, position, max_pairs, reading, recipe_placement, arxiv, url); CSV has the
    same columns, position as position_e, position_c, position_r.
    """
    from archclass.db.query import query_database
    from archclass.db.report import records_table

    records = query_database(filters, db=db, registry=registry_file, notify=note)
    print_rows(records, output_format(format_, json_), records_table)


@with_filters
def export(
    filters: Filters,
    format_: Annotated[ExportFormat, typer.Option("--format", help="Output format.")] = ExportFormat.json,
    json_: JsonFormatOption = False,
    output: OutputOption = None,
    db: DbOption = None,
    registry_file: RegistryOption = None,
) -> None:
    """Export the database's architectures (all, or those matching the query filters).

    json: the records of query --json with every other field added (aliases, summary, components,
    hyperparameters, evidence, notes, the bound and the rules that fired); csv: one flat row each;
    markdown: a table with links to the papers; bibtex: one @misc per cited paper with its title and
    authors (arXiv papers with eprint and archivePrefix, others with howpublished).
    """
    from archclass.db.export import export_text
    from archclass.db.query import query_database

    if json_ and format_ is not ExportFormat.json:
        raise typer.BadParameter(f"--json conflicts with --format {format_.value}", param_hint="--json")
    records = query_database(filters, db=db, registry=registry_file, full=True, notify=note)
    write_output(export_text(records, format_), output)


def datasette_metadata(
    output: OutputOption = None,
    check: CheckOption = False,
    database: Annotated[
        str, typer.Option("--database", help="Datasette's name for the database: its file name without .db.")
    ] = "archclass",
) -> None:
    """Write the Datasette metadata of the archclass database (YAML): titles, a description of every table and
    column with its unit, default facets, hidden internal tables, and canned queries.

    Use it with: datasette serve archclass.db --metadata datasette/metadata.yml
    """
    from archclass.db.datasette import metadata_yaml

    if check and output is None:
        raise typer.BadParameter("--check needs --output", param_hint="--check")
    write_output(metadata_yaml(database), output, check=f"archclass datasette-metadata -o {output}" if check else None)


def register(app: typer.Typer) -> None:
    db_help = "Create, upgrade and inspect the archclass database.\n\nExample: archclass db status"
    db_app = typer.Typer(name="db", help=db_help, no_args_is_help=True, rich_markup_mode="rich")
    app.add_typer(db_app, name="db")
    db_app.command("upgrade", epilog="Example: archclass db upgrade --db ./archclass.db")(db_upgrade)
    db_app.command("status", epilog="Example: archclass db status --json")(db_status)
    app.command(epilog="Examples: archclass sync --json;  archclass sync --results")(sync)
    app.command(
        epilog=(
            "Examples: archclass query --efficient --compact  (all compact and efficient models);  "
            "archclass query --family ssm --sort year --json;  archclass query --tag delta-rule --format csv;  "
            "archclass query --reading recipe --placement R"
        )
    )(query)
    app.command(
        epilog=(
            "Examples: archclass export --format bibtex -o papers.bib;  "
            "archclass export --format markdown --efficient --compact"
        )
    )(export)
    datasette_epilog = "Example: archclass datasette-metadata -o datasette/metadata.yml"
    app.command("datasette-metadata", epilog=datasette_epilog)(datasette_metadata)

