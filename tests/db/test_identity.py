"""archclass changes only its own databases: a foreign one is refused and left byte for byte as it was,
while archclass's own, marked or from before the marker, are recognised and upgraded."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from archclass.db import migrate
from archclass.db.engine import make_engine
from archclass.db.identity import SQLITE_APPLICATION_ID, NotArchclassDatabase, identify
from archclass.db.ready import ensure_database
from archclass.errors import ArchclassError

from ..conftest import run_cli
from .conftest import IDS, snapshot

#: Another Alembic application's database, stamped with a revision whose name archclass also uses.
OTHER_ALEMBIC_APP = [
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)",
    "INSERT INTO customers (name) VALUES ('Ada')",
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
    "INSERT INTO alembic_version VALUES ('0001')",
]
UNRELATED_TABLES = ["CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)", "INSERT INTO notes (body) VALUES ('x')"]


def _sqlite_file(path: Path, statements: list[str], application_id: int = 0) -> bytes:
    with sqlite3.connect(path) as connection:
        for statement in statements:
            connection.execute(statement)
        connection.execute(f"PRAGMA application_id = {application_id}")
    connection.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    ("statements", "application_id", "reason"),
    [
        (UNRELATED_TABLES, 0, "is not an archclass database (it holds notes, which archclass does not make)"),
        (OTHER_ALEMBIC_APP, 0, "(it holds customers, which archclass does not make; Alembic revision 0001)"),
        ([], 0x12345678, "belongs to another application (SQLite application_id 305419896)"),
    ],
    ids=["unrelated tables", "another alembic app at 0001", "another application's empty file"],
)
@pytest.mark.parametrize(
    "command",
    [["query", "--json"], ["sync"], ["db", "upgrade"], ["db", "status"], ["export"]],
    ids=lambda c: " ".join(c),
)
def test_a_foreign_sqlite_file_is_refused_and_unchanged(
    tmp_path, registry_file, statements, application_id, reason, command
):
    path = tmp_path / "theirs.db"
    before = _sqlite_file(path, statements, application_id)
    registry = [] if command == ["db", "upgrade"] else ["--registry", str(registry_file)]
    result = run_cli(*command, "--db", str(path), *registry)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert reason in result.stderr and "changed nothing" in result.stderr
    if command != ["db", "status"]:
        assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == before


def test_storing_a_run_in_a_foreign_database_is_refused(tmp_path):
    from archclass.db import record_probe_run

    from .test_probe_runs import PROBE_RESULT

    path = tmp_path / "theirs.db"
    before = _sqlite_file(path, OTHER_ALEMBIC_APP)
    with pytest.raises(ArchclassError, match="cannot store the probe run: .* is not an archclass database"):
        record_probe_run(PROBE_RESULT, db=str(path))
    assert path.read_bytes() == before


def test_a_foreign_postgres_schema_is_refused_and_unchanged(postgres_schema_url, registry_file):
    engine = make_engine(postgres_schema_url)
    try:
        with engine.begin() as connection:
            for statement in OTHER_ALEMBIC_APP:
                connection.execute(text(statement.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY")))
        with pytest.raises(NotArchclassDatabase, match="customers"):
            ensure_database(engine, registry_file)
        with pytest.raises(NotArchclassDatabase):
            migrate.upgrade(engine)
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == {"customers", "alembic_version"}
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
    finally:
        engine.dispose()


@pytest.mark.parametrize("revision", ["0001", "0002"])
def test_archclass_databases_from_before_the_marker_are_recognised_and_upgraded(engine, registry_file, revision):
    """Their exact table set at their Alembic revision identifies them; the upgrade adds the marker."""
    migrate.upgrade(engine, revision)
    with engine.connect() as connection:
        assert not identify(connection).marked
    result = ensure_database(engine, registry_file)
    assert result.upgraded_from == (revision,) and result.synced is not None
    with engine.connect() as connection:
        assert identify(connection).marked
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA application_id").scalar() == SQLITE_APPLICATION_ID
    assert [row[0] for row in snapshot(engine)["architectures"]] == IDS


def test_an_unmarked_database_with_an_extra_table_is_not_taken_for_archclass(engine, registry_file):
    migrate.upgrade(engine, "0002")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    with pytest.raises(NotArchclassDatabase, match="it holds invoices, which archclass does not make"):
        ensure_database(engine, registry_file)
    with engine.connect() as connection:
        assert migrate.stamped_revisions(connection) == ("0002",)


def test_an_empty_database_and_archclass_own_are_used(engine, registry_file):
    with engine.connect() as connection:
        assert identify(connection).empty
    ensure_database(engine, registry_file)
    migrate.downgrade(engine, "base")  # leaves an empty alembic_version: still empty, not foreign
    with engine.connect() as connection:
        assert identify(connection).empty
    assert ensure_database(engine, registry_file).created


def test_db_status_names_a_foreign_database_and_creates_nothing(tmp_path, registry_file):
    path = tmp_path / "theirs.db"
    before = _sqlite_file(path, UNRELATED_TABLES)
    result = run_cli("db", "status", "--json", "--db", str(path), "--registry", str(registry_file))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert "not an archclass database" in report["error"] and report["entries"] is None
    assert path.read_bytes() == before
