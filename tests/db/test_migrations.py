"""Alembic: one head, up from empty, down to base and up again, models equal migrations, names by
convention, a later migration keeps the rows, a newer schema is refused untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from archclass.db import migrate
from archclass.db.models import NAMING_CONVENTION, metadata
from archclass.db.sync import ensure_database
from archclass.paths import migrations_dir

from .conftest import IDS, snapshot

TABLES = {
    "architectures",
    "aliases",
    "hybrid_components",
    "classifications",
    "rule_firings",
    "probe_runs",
    "recall_runs",
    "meta",
}


def test_single_head_and_static_reader_agree():
    script = migrate.script_directory()
    heads = script.get_heads()
    assert len(heads) == 1
    assert migrate.static_head() == heads[0] == migrate.head_revision()
    assert [rev.revision for rev in script.walk_revisions()][::-1] == ["0001", "0002"]  # a line, oldest first


def test_migration_environment_files():
    root = migrations_dir()
    assert (root / "env.py").is_file() and (root / "versions").is_dir()
    assert "import sqlmodel" in (root / "script.py.mako").read_text()
    assert "render_as_batch=True" in (root / "env.py").read_text()
    assert not (root / ".keep").exists()


def test_config_sets_script_location_in_code():
    config = migrate.alembic_config()
    assert config.config_file_name is None
    assert Path(config.get_main_option("script_location")) == migrations_dir()


def test_upgrade_from_empty_to_head(engine):
    state = migrate.upgrade(engine)
    assert state.at_head and state.current == (migrate.head_revision(),)
    with engine.connect() as connection:
        assert TABLES | {"alembic_version"} == set(inspect(connection).get_table_names())
    again = migrate.upgrade(engine)  # idempotent
    assert again == state


def test_downgrade_to_base_and_up_again(engine, registry_file):
    ensure_database(engine, registry_file)
    migrate.downgrade(engine, "base")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        assert migrate.current_revisions(connection) == ()
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= TABLES
    result = ensure_database(engine, registry_file)
    assert result.synced is not None and result.synced.counts["architectures"] == len(IDS)


def test_models_match_migrations(engine):
    """The `alembic check` equivalent: autogenerate finds nothing to do at head."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    migrate.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True, "render_as_batch": True}
        )
        assert compare_metadata(context, metadata) == []


def test_constraint_names_follow_the_convention(engine):
    migrate.upgrade(engine)
    assert metadata.naming_convention == {**metadata.naming_convention, **NAMING_CONVENTION}
    with engine.connect() as connection:
        inspector = inspect(connection)
        for name in TABLES:
            assert inspector.get_pk_constraint(name)["name"] == f"pk_{name}"
            for index in inspector.get_indexes(name):
                assert index["name"].startswith(f"ix_{name}_")
            for fk in inspector.get_foreign_keys(name):
                assert fk["name"] == f"fk_{name}_{fk['constrained_columns'][0]}_{fk['referred_table']}"
        checks = {c["name"] for c in inspector.get_check_constraints("hybrid_components")}
        assert "ck_hybrid_components_fraction_range" in checks
        checks = {c["name"] for c in inspector.get_check_constraints("recall_runs")}
        assert "ck_recall_runs_capacity_nonnegative" in checks


SECOND_REVISION = '''"""test only: add a column to architectures (rebuilding the table on SQLite)

Revision ID: 9999
Revises: {head}
"""
import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def _recreate():
    # SQLite: rebuild the table (copy, drop, rename), the risky path; elsewhere plain ALTER TABLE.
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade():
    with op.batch_alter_table("architectures", recreate=_recreate()) as batch_op:
        batch_op.add_column(sa.Column("test_note", sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default="none yet"))


def downgrade():
    with op.batch_alter_table("architectures", recreate=_recreate()) as batch_op:
        batch_op.drop_column("test_note")
'''


def test_a_migration_that_adds_a_column_keeps_the_rows(engine, registry_file, tmp_path):
    """A throwaway second revision in a copy of migrations/: the rows of every table survive it (on
    SQLite the architectures table is rebuilt, which would cascade-delete children if foreign keys
    were enforced during the migration)."""
    ensure_database(engine, registry_file)
    before = snapshot(engine)
    location = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), location, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.head_revision()
    (location / "versions" / "9999_test_add_column.py").write_text(SECOND_REVISION.format(head=head))
    assert migrate.head_revision(location) == "9999" == migrate.static_head(location)

    state = migrate.upgrade(engine, script_location=location)
    assert state.current == ("9999",)
    with engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("architectures")}
        notes = connection.execute(text("SELECT DISTINCT test_note FROM architectures")).scalars().all()
    assert "test_note" in columns and notes == ["none yet"]
    assert snapshot(engine) == before  # every row of every table, all columns the models know

    migrate.downgrade(engine, head, script_location=location)
    assert snapshot(engine) == before


def test_a_newer_schema_is_refused_and_left_untouched(engine, registry_file, db_url, cli):
    ensure_database(engine, registry_file)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    before = snapshot(engine)
    with pytest.raises(migrate.SchemaTooNew, match="newer archclass"):
        ensure_database(engine, registry_file)
    with pytest.raises(migrate.SchemaTooNew):
        migrate.upgrade(engine)
    with pytest.raises(migrate.SchemaTooNew):
        migrate.downgrade(engine, "base")
    assert snapshot(engine) == before
    result = cli("query", "--json", "--db", db_url, "--registry", str(registry_file))
    assert result.returncode == 1 and result.stdout == ""
    assert "ffff_from_the_future" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with engine.connect() as connection:
        assert migrate.current_revisions(connection) == ("ffff_from_the_future",)
    assert snapshot(engine) == before
