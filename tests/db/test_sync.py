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
from archclass.classifier import classify_entry
from archclass.db.engine import read_transaction
from archclass.db.models import HybridComponentRow, table
from archclass.db.query import Filters, full_records, run_query
from archclass.db.ready import ensure_database
from archclass.db.sync import sync_registry
from archclass.errors import RegistryError
from archclass.registry import load_registry

from .conftest import BAD_REGISTRY_YAML, EFFICIENT_AND_COMPACT, IDS, REGISTRY_B_YAML, SYNC_COUNTS, snapshot


def ids(engine, **filters) -> list[str]:
    with read_transaction(engine) as connection:
        return [row["id"] for row in run_query(connection, Filters(**filters))]


def test_sync_writes_every_registry_fact(engine, registry_file):
    result = ensure_database(engine, registry_file)
    assert result.created and result.synced is not None
    assert result.synced.counts == SYNC_COUNTS
    registry = load_registry(registry_file)
    with read_transaction(engine) as connection:
        records = {r["id"]: r for r in full_records(connection, Filters())}
        components = connection.execute(select(table(HybridComponentRow)).order_by(text("ordinal"))).all()
    assert list(records) == IDS
    for entry in registry:
        expected = classify_entry(entry, registry)
        got = records[entry.id]
        assert (got["efficient"], got["compact"], got["recall"], got["placement"]) == (
            expected.efficient,
            expected.compact,
            expected.recall,
            expected.placement,
        )
        assert got["position"] == pytest.approx(list(expected.position))
        assert [f["rule"] for f in got["rules"]] == [f.rule for f in expected.rules]
        assert got["aliases"] == sorted(entry.aliases)
        assert got["tags"] == sorted(str(tag) for tag in entry.tags)
        assert (got["title"], got["authors"]) == (entry.title, entry.authors)
    assert [(c.hybrid_id, c.component_id, c.fraction) for c in components] == [
        ("jamba", "mamba", 0.875),
        ("jamba", "transformer", 0.125),
    ]
    assert records["mamba"]["hyperparameters"] == {"n": {"meaning": "state dimension", "value": 16.0}}
    assert records["mamba"]["bound"]["max_pairs"] > 0 and records["mamba"]["max_pairs"] > 0
    assert records["transformer"]["authors"] == ["Ashish Vaswani", "Noam Shazeer", "others"]


def test_the_recipe_reading_is_stored_beside_the_fixed_one(engine, registry_file):
    """web-model's paper grows its window w with T: EC with fixed knobs, none under the recipe; entries
    without a recipe have no second reading."""
    ensure_database(engine, registry_file)
    with read_transaction(engine) as connection:
        fixed = {r["id"]: r for r in run_query(connection, Filters())}
        grown = {r["id"]: r for r in run_query(connection, Filters(reading="recipe"))}
    assert (fixed["web-model"]["placement"], fixed["web-model"]["recipe_placement"]) == ("EC", "none")
    assert fixed["web-model"]["reading"] == "fixed"
    web = grown["web-model"]
    assert (web["placement"], web["efficient"], web["compact"], web["reading"]) == ("none", False, False, "recipe")
    assert web["position"] == pytest.approx([1 / 3, 1 / 3, 1 / 3]) and web["state_growth"] == "T"
    for arch_id in ("mamba", "transformer", "jamba"):
        assert fixed[arch_id]["recipe_placement"] is None and grown[arch_id] == fixed[arch_id]
    assert ids(engine, reading="recipe", efficient=True, compact=True) == ["mamba", "retnet"]
    assert ids(engine, reading="recipe", placements=("none",)) == ["web-model"]
    assert ids(engine, placements=("none",)) == []


def test_tags_filter_all_must_match(engine, registry_file):
    ensure_database(engine, registry_file)
    assert ids(engine, tags=("gating",)) == ["mamba"]
    assert ids(engine, tags=("selective", "gating")) == ["mamba"]
    assert ids(engine, tags=("selective", "decay")) == []
    assert ids(engine, tags=("kv-cache",), recall=True) == ["transformer"]
    with pytest.raises(ValueError, match="unknown tag 'no-such-tag'"):
        ids(engine, tags=("no-such-tag",))


@pytest.mark.parametrize(
    "filters",
    [
        {"year_from": 2**63},
        {"limit": 10**30},
        {"year_to": -(2**64)},
        {"search": "x" * 201},
        {"search": "ssm\x00"},
        {"families": ("ssm\x00",)},
        {"reading": "sideways"},
    ],
    ids=repr,
)
def test_filters_no_database_could_answer_are_refused(engine, registry_file, filters):
    ensure_database(engine, registry_file)
    with pytest.raises(ValueError):
        ids(engine, **filters)


def test_the_registry_path_is_stored_without_local_directories(engine, registry_file):
    from archclass.paths import registry_path

    ensure_database(engine, registry_file)
    with read_transaction(engine) as connection:
        assert sync_module.read_meta(connection)["registry_path"] == "registry.yaml"  # a file outside the checkout
    sync_registry(engine, registry_path())
    with read_transaction(engine) as connection:
        assert sync_module.read_meta(connection)["registry_path"] == "data/architectures.yaml"


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

    def failing_insert(connection, model, rows):
        calls.append(table(model).name)
        if len(calls) == 3:  # architectures and tags are already written (and the old rows deleted)
            raise RuntimeError("injected failure")
        real_insert(connection, model, rows)

    monkeypatch.setattr(sync_module, "_insert", failing_insert)
    with pytest.raises(RuntimeError, match="injected failure"):
        sync_registry(engine, registry_b_file)
    assert calls == ["architectures", "architecture_tags", "aliases"]
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
    from archclass.db.ready import ensure_database
    from archclass.db.sync import sync_registry
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
    assert ids(engine, sort="placement", reading="recipe") == ["mamba", "retnet", "jamba", "transformer", "web-model"]
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
    """Text filters reach SQL only as parameters; a text no database could hold (NUL, which PostgreSQL's text
    refuses) or over the length limit is refused the same way on every backend, before any SQL."""
    ensure_database(engine, registry_file)
    before = snapshot(engine)
    refused = "\x00" in value or len(value) > 200
    for filters in ({"families": (value,)}, {"placements": (value,)}, {"ids": (value,)}, {"search": value}):
        if refused:
            with pytest.raises(ValueError, match="longer than 200 characters or holds NUL"):
                ids(engine, **filters)
        elif "search" in filters:
            assert ids(engine, **filters) == [
                i for i in IDS if value.casefold() in i or value.casefold() in _names()[i]
            ]
        else:
            assert ids(engine, **filters) == []
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
