"""Alembic: one head, up from empty, down to base and up again, models equal migrations, names by
convention, an 0002 database with rows upgraded (and down again) keeping them, a later migration keeps
the rows, a newer schema is refused untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from archclass.db import migrate
from archclass.db.models import ALL_TABLES, CLASSES_VIEW, metadata, table
from archclass.db.ready import ensure_database
from archclass.paths import migrations_dir

from .conftest import IDS, snapshot

TABLES = {table(model).name for model in ALL_TABLES}


def test_single_head_and_static_reader_agree():
    script = migrate.script_directory()
    heads = script.get_heads()
    assert len(heads) == 1
    assert migrate.static_head() == heads[0] == migrate.head_revision()
    assert [rev.revision for rev in script.walk_revisions()][::-1] == ["0001", "0002", "0003"]  # a line


def test_config_sets_script_location_in_code():
    config = migrate.alembic_config()
    assert config.config_file_name is None
    assert Path(config.get_main_option("script_location")) == migrations_dir()


def test_upgrade_from_empty_to_head(engine):
    state = migrate.upgrade(engine)
    assert state.at_head and state.current == (migrate.head_revision(),)
    with engine.connect() as connection:
        assert TABLES | {"alembic_version"} == set(inspect(connection).get_table_names())
        assert inspect(connection).get_view_names() == [CLASSES_VIEW]
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
        checks = {c["name"] for c in inspector.get_check_constraints("classifications")}  # kept by the rebuild
        assert {"ck_classifications_placement_known", "ck_classifications_recipe_placement_known"} <= checks
        for name in ("probe_runs", "recall_runs"):  # checked at commit, so a sync may rewrite architectures
            (link,) = inspector.get_foreign_keys(name)
            assert link["referred_table"] == "architectures" and link["options"].get("initially") == "DEFERRED"


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


def _an_0002_database_with_rows(engine) -> None:
    """A database as archclass 0002 left it: two synced entries with their classification, meta, a probe
    run of a known entry, one of an entry the database does not hold, one of a user's module, and a recall run."""
    migrate.upgrade(engine, "0002")
    now = "2026-12-01 10:00:00"
    statements = [
        "INSERT INTO architectures (id, name, year, family, summary, hybrid, per_step_compute, state_size, "
        "retrieval, precision, hyperparameters, evidence, confidence) VALUES "
        "('mamba', 'Mamba', 2023, 'ssm', 'S6.', false, 'O(d n)', 'O(d n)', 'none', 'fixed', '{}', 'Sec. 3', 'high'), "
        "('jamba', 'Jamba', 2024, 'hybrid', 'Mix.', true, NULL, NULL, NULL, NULL, '{}', 'Sec. 2', 'high')",
        "INSERT INTO classifications (arch_id, efficient, compact, recall, placement, position_e, position_c, "
        "position_r, compute_growth, state_growth, hybrid, archclass_version) VALUES "
        "('mamba', true, true, false, 'EC', 0.5, 0.5, 0.0, '1', '1', false, '0.1'), "
        "('jamba', false, false, true, 'R', 0.4, 0.4, 0.2, 'T', 'T', true, '0.1')",
        "INSERT INTO meta (key, value) VALUES ('registry_sha256', 'abc'), ('entries', '2')",
        "INSERT INTO probe_runs (arch_id, module, device, dtype, created_at, lengths, placement, efficient, compact, "
        f"recall, state_growth, compute_growth, details, archclass_version) VALUES "
        f"('mamba', 'mamba', 'cpu', 'float32', '{now}', '[64]', 'EC', true, true, false, 'constant', 'constant', "
        "'{\"notes\": []}', '0.1'), "
        f"('gone', 'gone', 'cpu', 'float32', '{now}', '[64]', 'R', false, false, true, 'linear', 'linear', "
        "NULL, '0.1'), "
        f"(NULL, 'mine.py:Mine', 'cpu', 'float32', '{now}', '[64]', 'EC', true, true, false, 'constant', 'constant', "
        "NULL, '0.1')",
        "INSERT INTO recall_runs (sweep_id, arch, arch_id, d_model, seed, vocab, seq_len, n_layers, steps_run, "
        "capacity, state_scalars, state_bits, bits_per_scalar, target_accuracy, device, created_at, accuracy, "
        f"archclass_version) VALUES ('s1', 'mamba', 'mamba', 64, 0, 64, 128, 2, 100, 4, 1000, 32000, 32, 0.9, "
        f"'cpu', '{now}', '{{\"4\": 0.95}}', '0.1')",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def _rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def test_an_0002_database_with_rows_is_upgraded_keeping_them(engine, registry_file):
    """0003 keeps every row: the classification without its hybrid copy, the probe verdict under its new
    names, the run of an entry the database does not hold unlinked (its id kept), the marker added."""
    _an_0002_database_with_rows(engine)
    result = ensure_database(engine, registry_file, sync=False)
    assert result.upgraded_from == ("0002",) and not result.created
    assert _rows(engine, "SELECT id, name, title, authors FROM architectures ORDER BY id") == [
        ("jamba", "Jamba", None, None),
        ("mamba", "Mamba", None, None),
    ]
    assert _rows(engine, "SELECT arch_id, placement, position_r, recipe_placement FROM classifications ORDER BY 1") == [
        ("jamba", "R", 0.2, None),
        ("mamba", "EC", 0.0, None),
    ]
    probes = _rows(
        engine, "SELECT module, arch_id, probe_placement, probe_state_growth, source FROM probe_runs ORDER BY module"
    )
    assert probes == [
        ("gone", None, "R", "linear", None),
        ("mamba", "mamba", "EC", "constant", None),
        ("mine.py:Mine", None, "EC", "constant", None),
    ]
    assert _rows(engine, "SELECT arch, arch_id, capacity FROM recall_runs") == [("mamba", "mamba", 4)]
    assert _rows(engine, "SELECT key, value FROM meta WHERE key = 'application'") == [("application", "archclass")]
    assert _rows(engine, "SELECT id, placement, efficient, hybrid FROM architecture_classes ORDER BY id") == [
        ("jamba", "R", "false", "true"),
        ("mamba", "EC", "true", "false"),
    ]
    from sqlalchemy import select

    from archclass.db.models import ProbeRunRow
    from archclass.db.runs import read_run

    runs = table(ProbeRunRow)
    with engine.connect() as connection:
        gone = read_run(ProbeRunRow, connection.execute(select(runs).where(runs.c.module == "gone")).one())
    assert gone.details == {"unlinked_arch_id": "gone"}

    migrate.downgrade(engine, "0002")  # and back: the 0002 shape with the same facts
    assert _rows(engine, "SELECT arch_id, hybrid FROM classifications ORDER BY 1") == [
        ("jamba", True),
        ("mamba", False),
    ]
    assert _rows(engine, "SELECT module, arch_id, placement FROM probe_runs ORDER BY id") == [
        ("mamba", "mamba", "EC"),
        ("gone", "gone", "R"),
        ("mine.py:Mine", None, "EC"),
    ]
    assert _rows(engine, "SELECT count(*) FROM meta WHERE key = 'application'") == [(0,)]
