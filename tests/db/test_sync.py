"""Sync: the rows it writes, idempotence, atomicity (bad registry, failure midway), re-sync on change,
two writers at once, and typed filters with hostile values."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import select, text

import archclass.db.sync as sync_module
from archclass.classifier import PLACEMENTS, classify_entry
from archclass.db.engine import read_transaction
from archclass.db.models import PLACEMENTS as DB_PLACEMENTS
from archclass.db.models import metadata
from archclass.db.query import Filters, full_records, run_query
from archclass.db.sync import ensure_database, sync_registry
from archclass.errors import RegistryError
from archclass.registry import load_registry

from .conftest import BAD_REGISTRY_YAML, EFFICIENT_AND_COMPACT, IDS, REGISTRY_B_YAML, snapshot


def ids(engine, **filters) -> list[str]:
    with read_transaction(engine) as connection:
        return [row["id"] for row in run_query(connection, Filters(**filters))]


def test_placements_are_mirrored():
    assert tuple(DB_PLACEMENTS) == tuple(PLACEMENTS)


def test_sync_writes_every_registry_fact(engine, registry_file):
    result = ensure_database(engine, registry_file)
    assert result.created and result.synced is not None
    assert result.synced.counts == {
        "architectures": 5,
        "aliases": 5,
        "hybrid_components": 2,
        "classifications": 5,
        "rule_firings": 15,
    }
    registry = load_registry(registry_file)
    with read_transaction(engine) as connection:
        records = {r["id"]: r for r in full_records(connection, Filters())}
        components = connection.execute(select(metadata.tables["hybrid_components"]).order_by(text("ordinal"))).all()
    assert list(records) == IDS
    for entry in registry:
        expected = classify_entry(entry, registry)
        got = records[entry.id]["classification"]
        assert (got["efficient"], got["compact"], got["recall"], got["placement"]) == (
            expected.efficient,
            expected.compact,
            expected.recall,
            expected.placement,
        )
        assert got["position"] == pytest.approx(list(expected.position))
        assert [f["rule"] for f in got["rules"]] == [f.rule for f in expected.rules]
        assert records[entry.id]["aliases"] == sorted(entry.aliases)
    assert [(c.hybrid_id, c.component_id, c.fraction) for c in components] == [
        ("jamba", "mamba", 0.875),
        ("jamba", "transformer", 0.125),
    ]
    assert records["mamba"]["hyperparameters"] == {"n": {"meaning": "state dimension", "value": 16.0}}
    assert records["mamba"]["classification"]["bound"]["max_pairs"] > 0


def test_sync_twice_gives_identical_tables(engine, registry_file):
    ensure_database(engine, registry_file)
    first = snapshot(engine)
    again = sync_registry(engine, registry_file)
    assert not again.changed and snapshot(engine) == first
    third = sync_registry(engine, registry_file)
    assert third.counts == again.counts and snapshot(engine) == first


def test_every_backend_stores_the_same_rows(engine, registry_file, tmp_path):
    """PostgreSQL is written with COPY, SQLite with INSERTs: the rows must be the same."""
    from archclass.db.engine import make_engine

    ensure_database(engine, registry_file)
    reference = make_engine("sqlite:///" + str(tmp_path / "reference.db"))
    ensure_database(reference, registry_file)
    try:
        ours, theirs = snapshot(engine), snapshot(reference)
    finally:
        reference.dispose()
    assert {k: v for k, v in ours.items() if k != "meta"} == {k: v for k, v in theirs.items() if k != "meta"}


def test_registry_change_resyncs_on_next_use_and_only_then(engine, registry_file):
    ensure_database(engine, registry_file)
    assert ensure_database(engine, registry_file).synced is None  # in step: nothing written
    registry_file.write_text(REGISTRY_B_YAML, encoding="utf-8")
    result = ensure_database(engine, registry_file)
    assert result.synced is not None and result.synced.changed
    assert "xlstm" in ids(engine)
    assert ensure_database(engine, registry_file).synced is None


def test_a_registry_with_a_bad_entry_changes_nothing(engine, registry_file, tmp_path):
    ensure_database(engine, registry_file)
    before = snapshot(engine)
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_REGISTRY_YAML, encoding="utf-8")
    with pytest.raises(RegistryError, match="xlstm"):
        sync_registry(engine, bad)
    with pytest.raises(RegistryError):
        ensure_database(engine, bad)
    assert snapshot(engine) == before


def test_a_sync_that_fails_midway_leaves_the_old_data(engine, registry_file, registry_b_file, monkeypatch):
    ensure_database(engine, registry_file)
    before = snapshot(engine)
    calls: list[str] = []
    real_insert = sync_module._insert

    def failing_insert(connection, table_name, rows):
        calls.append(table_name)
        if len(calls) == 3:  # architectures and aliases are already written (and the old rows deleted)
            raise RuntimeError("injected failure")
        real_insert(connection, table_name, rows)

    monkeypatch.setattr(sync_module, "_insert", failing_insert)
    with pytest.raises(RuntimeError, match="injected failure"):
        sync_registry(engine, registry_b_file)
    assert calls == ["architectures", "aliases", "hybrid_components"]
    assert snapshot(engine) == before
    monkeypatch.setattr(sync_module, "_insert", real_insert)
    sync_registry(engine, registry_b_file)
    assert "xlstm" in ids(engine)


def test_a_failing_meta_write_rolls_back_too(engine, registry_file, registry_b_file, monkeypatch):
    ensure_database(engine, registry_file)
    before = snapshot(engine)

    def broken(*_args, **_kwargs):
        raise RuntimeError("meta failure")

    monkeypatch.setattr(sync_module, "write_meta", broken)
    with pytest.raises(RuntimeError):
        sync_registry(engine, registry_b_file)
    assert snapshot(engine) == before


WRITER = textwrap.dedent(
    """
    import json, sys
    from archclass.db.engine import make_engine
    from archclass.db.sync import ensure_database, sync_registry
    url, registry, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    engine = make_engine(url)
    ensure_database(engine, registry)          # both race to create and migrate the empty database
    for _ in range(rounds):
        sync_registry(engine, registry, force=True)
    print(json.dumps({"ok": True}))
    """
)


def test_two_syncs_at_once_do_not_corrupt(db_url, registry_file, registry_b_file, tmp_path):
    """Two processes create, migrate and sync the same empty database at the same time, each with its own
    registry, several times over: both succeed, and the result is exactly one of the two registries."""
    from archclass.db.engine import make_engine

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, db_url, str(path), "6"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in (registry_file, registry_b_file)
    ]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert json.loads(out) == {"ok": True}
    engine = make_engine(db_url)
    try:
        final = snapshot(engine)
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    finally:
        engine.dispose()
    expected = []
    for path in (registry_file, registry_b_file):
        reference = make_engine("sqlite:///" + str(tmp_path / f"ref-{path.stem}.db"))
        ensure_database(reference, path)
        expected.append(snapshot(reference))
        reference.dispose()
    normalise = {name: [tuple(v for v in row) for row in rows] for name, rows in final.items() if name != "meta"}
    candidates = [{name: rows for name, rows in e.items() if name != "meta"} for e in expected]
    assert normalise in candidates
    meta = dict(final["meta"])
    assert meta["registry_sha256"] in {dict(e["meta"])["registry_sha256"] for e in expected}


def test_typed_filters(engine, registry_file):
    ensure_database(engine, registry_file)
    assert ids(engine, efficient=True, compact=True) == EFFICIENT_AND_COMPACT
    assert ids(engine, efficient=False) == ["jamba", "transformer"]
    assert ids(engine, recall=True) == ["jamba", "transformer"]
    assert ids(engine, recall=False, hybrid=False) == EFFICIENT_AND_COMPACT
    assert ids(engine, hybrid=True) == ["jamba"]
    assert ids(engine, placements=("EC",)) == EFFICIENT_AND_COMPACT
    assert ids(engine, placements=("R",), families=("hybrid",)) == ["jamba"]
    assert ids(engine, families=("ssm", "linear-rnn")) == ["mamba", "retnet"]
    assert ids(engine, year_from=2020, year_to=2023) == ["mamba", "retnet"]
    assert ids(engine, sort="year") == ["transformer", "web-model", "mamba", "retnet", "jamba"]
    assert ids(engine, sort="year", descending=True, limit=2) == ["jamba", "retnet"]
    assert ids(engine, sort="placement") == ["mamba", "retnet", "web-model", "jamba", "transformer"]
    assert ids(engine, search="RETENTIVE") == ["retnet"]  # an alias, case-insensitively
    assert ids(engine, search="ölfilter") == ["mamba"]  # non-ASCII case folding, on SQLite too


HOSTILE = [
    "ssm'; DROP TABLE architectures;--",
    "' OR '1'='1",
    '" OR ""="',
    "%",
    "_",
    "ss_",
    "%ssm%",
    ";--",
    "ssm\x00",
    "ẞßΣσ🙂 ssm",
    "x" * 10_000,
    "ü" * 10_000,
]


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:12]))
def test_hostile_values_are_bound_parameters(engine, registry_file, value):
    ensure_database(engine, registry_file)
    before = snapshot(engine)
    if "\x00" in value and engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL text cannot contain NUL; the CLI never passes one")
    assert ids(engine, families=(value,)) == []
    assert ids(engine, placements=(value,)) == []
    assert ids(engine, ids=(value,)) == []
    literal = [i for i in IDS if value.casefold() in i or value.casefold() in _names()[i]]
    assert ids(engine, search=value) == literal
    assert snapshot(engine) == before


def _names() -> dict[str, str]:
    return {
        "jamba": "jamba jamba-hybrid",
        "mamba": "mamba s6 ölfilter",
        "retnet": "retnet retentive-network",
        "transformer": "transformer attention",
        "web-model": "web {model} | 50% & co_",
    }


def test_search_treats_like_wildcards_literally(engine, registry_file):
    ensure_database(engine, registry_file)
    assert ids(engine, search="%") == ["web-model"]
    assert ids(engine, search="_") == ["web-model"]
    assert ids(engine, search="50%") == ["web-model"]
    assert ids(engine, search="m_mba") == []
