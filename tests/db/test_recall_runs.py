"""record_recall_runs stores one `archclass recall` sweep in one transaction; recall_runs reads it back.
A registry sync never touches the recall runs, and database problems are one-line ArchclassErrors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from archclass import __version__
from archclass.db import migrate, recall_runs, record_recall_runs
from archclass.db.engine import make_engine
from archclass.db.models import ProbeRunRow, RecallRunRow, table
from archclass.db.runs import run_dict
from archclass.errors import ArchclassError

from ..conftest import run_cli
from .conftest import registry_without

COMMAND = "archclass recall --arch mamba --arch softmax-attention --d-model 64 --pairs 8,16,32 --vocab 8192 --seeds 2"
DEVICE = "NVIDIA H200"
ARCH_IDS = {"mamba": "mamba", "softmax-attention": "transformer"}


def _run(arch: str, seed: int, **changes: Any) -> dict[str, Any]:
    """The shape of archclass.recall.train.RunResult.as_dict() (string K keys, at_length by length)."""
    run: dict[str, Any] = {
        "arch": arch,
        "d_model": 64,
        "seed": seed,
        "vocab": 8192,
        "seq_len": 256,
        "n_layers": 2,
        "steps_run": 1400 + seed,
        "accuracy": {"8": 0.998, "16": 0.95, "32": 0.41},
        "accuracy_by_distance": {"0-15": 0.99, "16-63": 0.9, "64-255": 0.52},
        "capacity": 16,
        "state_scalars": 33_280,
        "state_bits": 33_280 * 32,
        "bound_pairs": 60_123.5,
        "tokens_per_second": 1.25e6,
        "train_seconds": 18.5,
        "overrides": {"d_state": 16},
        "bits_per_scalar": 32,
        "state_grows_with_length": False,
        "history": [
            {"step": 200, "loss": 5.1, "accuracy_min": 0.01, "accuracy_max": 0.2},
            {"step": 1400, "loss": 0.02, "accuracy_min": 0.41, "accuracy_max": 0.998},
        ],
        "at_length": {
            "1024": {
                "accuracy": {"8": 0.9, "16": 0.7, "32": 0.2},
                "accuracy_by_distance": {"0-15": 0.95, "256-1023": 0.3},
                "capacity": 8,
                "state_scalars": 33_280,
                "state_bits": 33_280 * 32,
                "bound_pairs": 60_123.5,
            }
        },
    }
    run.update(changes)
    return run


def _sweep() -> list[dict[str, Any]]:
    kv_cache = 2 * 2 * 256 * 64  # layers x (K, V) x T x d: grows with the length
    return [
        _run("mamba", 0),
        _run("mamba", 1, capacity=8, accuracy={"8": 0.93, "16": 0.8, "32": 0.3}),
        _run(
            "softmax-attention",
            0,
            overrides={},
            capacity=32,
            accuracy={"8": 1.0, "16": 1.0, "32": 0.97},
            state_scalars=kv_cache,
            state_bits=2**33,  # past PostgreSQL's INTEGER: the state columns are BIGINT
            bound_pairs=None,
            tokens_per_second=float("nan"),  # a run too short to time
            state_grows_with_length=True,
            history=[{"step": 200, "loss": float("nan"), "accuracy_min": 0.5, "accuracy_max": 1.0}],
            note="an extra key the recorder does not know",
        ),
    ]


def _record(db: str, runs: list[dict[str, Any]] | None = None, **options: Any) -> list[int]:
    values: dict[str, Any] = dict(device=DEVICE, target_accuracy=0.9, command=COMMAND, arch_ids=ARCH_IDS, db=db)
    values.update(options)
    return record_recall_runs(_sweep() if runs is None else runs, **values)


def _count(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            statement = select(func.count()).select_from(table(RecallRunRow))
            return int(connection.execute(statement).scalar_one())
    finally:
        engine.dispose()


def test_record_a_sweep_and_read_it_back(db_url):
    when = datetime(2026, 12, 2, 15, 30, 5, tzinfo=UTC)
    ids = _record(db_url, created_at=when)
    assert len(ids) == 3 and ids == sorted(ids)
    runs = [run_dict(run) for run in recall_runs(db_url)]
    assert [run["id"] for run in runs] == ids[::-1]  # newest first: one timestamp, so the last stored first
    by_id = {run["id"]: run for run in runs}
    first, second, attention = (by_id[i] for i in ids)
    sweep = first["sweep_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", sweep) and {run["sweep_id"] for run in runs} == {sweep}

    sent = _sweep()[0]
    for key in ("arch", "d_model", "seed", "vocab", "seq_len", "n_layers", "steps_run", "capacity"):
        assert first[key] == sent[key], key
    assert (first["state_scalars"], first["state_bits"], first["bits_per_scalar"]) == (33_280, 33_280 * 32, 32)
    assert first["bound_pairs"] == 60_123.5 and first["tokens_per_second"] == 1.25e6
    assert first["accuracy"] == {"8": 0.998, "16": 0.95, "32": 0.41}
    assert (first["arch_id"], first["device"], first["target_accuracy"]) == ("mamba", DEVICE, 0.9)
    assert first["archclass_version"] == __version__
    assert datetime.fromisoformat(first["created_at"]) == when
    assert first["details"] == {
        "accuracy_by_distance": sent["accuracy_by_distance"],
        "train_seconds": 18.5,
        "overrides": {"d_state": 16},
        "state_grows_with_length": False,
        "history": sent["history"],
        "at_length": sent["at_length"],
        "command": COMMAND,
    }
    assert second["capacity"] == 8 and second["seed"] == 1 and second["accuracy"]["8"] == 0.93

    assert attention["arch_id"] == "transformer" and attention["state_bits"] == 2**33
    assert attention["tokens_per_second"] is None and attention["bound_pairs"] is None  # NaN and None: NULL
    assert attention["details"]["history"][0]["loss"] is None  # NaN in JSON: null
    assert attention["details"]["note"] == "an extra key the recorder does not know"
    assert attention["details"]["overrides"] == {} and attention["details"]["state_grows_with_length"] is True

    engine = make_engine(db_url)
    try:
        runs_table = table(RecallRunRow)
        with engine.connect() as connection:
            statement = select(runs_table.c.id).where(runs_table.c.tokens_per_second.is_(None))
            nulls = connection.execute(statement).scalars().all()
            assert nulls == [ids[2]]  # SQL NULL, not NaN
    finally:
        engine.dispose()

    assert [run.id for run in recall_runs(db_url, arch="mamba")] == ids[1::-1]
    assert [run.id for run in recall_runs(db_url, arch="softmax-attention", sweep_id=sweep)] == [ids[2]]
    assert recall_runs(db_url, sweep_id="no-such-sweep") == []


def test_runs_link_to_their_architecture_once_it_is_there(db_url, registry_file, tmp_path):
    """A run recorded for an entry the database does not hold is stored unlinked (its id kept) and linked by
    the sync that brings the entry; a sync that removes the entry unlinks it again, keeping the id."""
    without_transformer = tmp_path / "no-transformer.yaml"
    without_transformer.write_text(registry_without("jamba", "transformer"), encoding="utf-8")
    assert run_cli("sync", "--db", db_url, "--registry", str(without_transformer)).returncode == 0
    ids = _record(db_url)
    runs = {run.id: run for run in recall_runs(db_url)}
    assert [runs[i].arch_id for i in ids] == ["mamba", "mamba", None]
    assert runs[ids[2]].details["unlinked_arch_id"] == "transformer"

    assert run_cli("sync", "--db", db_url, "--registry", str(registry_file)).returncode == 0
    linked = {run.id: run.arch_id for run in recall_runs(db_url)}
    assert linked == dict(zip(ids, ["mamba", "mamba", "transformer"], strict=True))
    assert [run.id for run in recall_runs(db_url, arch="transformer")] == [ids[2]]  # by registry id too
    assert all("unlinked_arch_id" not in run.details for run in recall_runs(db_url))

    result = run_cli("sync", "--db", db_url, "--registry", str(without_transformer))
    assert result.returncode == 0, result.stderr
    attention = next(run for run in recall_runs(db_url) if run.arch == "softmax-attention")
    assert attention.arch_id is None and attention.details["unlinked_arch_id"] == "transformer"


def test_a_run_missing_a_required_key_stores_nothing(db_url):
    runs = _sweep()
    del runs[2]["state_bits"]
    with pytest.raises(ArchclassError, match=r"needs 'state_bits' \(recall run 3 of 3 has none\)"):
        _record(db_url, runs)
    assert recall_runs(db_url) == [] and _count(db_url) == 0
    with pytest.raises(ArchclassError, match="'d_model' input should be a valid integer"):
        _record(db_url, [_run("mamba", 0, d_model=64.5)])
    with pytest.raises(ArchclassError, match="needs 'device'"):
        _record(db_url, device="")
    with pytest.raises(ArchclassError, match="target_accuracy"):
        _record(db_url, target_accuracy=float("nan"))
    assert _count(db_url) == 0


def test_a_row_the_database_refuses_rolls_back_the_whole_sweep(db_url):
    """The first two rows are inserted before the third breaks the CHECK: none of them is kept."""
    runs = _sweep()
    runs[2]["capacity"] = -1
    with pytest.raises(ArchclassError, match="cannot store the recall runs") as caught:
        _record(db_url, runs)
    assert "\n" not in str(caught.value) and "capacity_nonnegative" in str(caught.value)
    assert _count(db_url) == 0


def test_recording_twice_gives_two_sweeps(db_url):
    now = datetime.now(UTC)
    first = _record(db_url, created_at=now - timedelta(minutes=5))
    second = _record(db_url, created_at=now, sweep_id="gpu-sweep-2", command=None, arch_ids=None)
    runs = recall_runs(db_url)
    assert [run.id for run in runs] == second[::-1] + first[::-1]
    sweeps = [run.sweep_id for run in runs]
    assert sweeps[:3] == ["gpu-sweep-2"] * 3 and len(set(sweeps[3:])) == 1 and sweeps[3] != "gpu-sweep-2"
    assert [run.id for run in recall_runs(db_url, sweep_id=sweeps[3])] == first[::-1]
    newest = runs[0]
    assert newest.arch_id is None and newest.details["command"] is None  # no mapping, no command given
    assert "unlinked_arch_id" not in newest.details
    assert _record(db_url, []) == []
    assert _count(db_url) == 6


def test_a_registry_sync_keeps_the_recall_runs(db_url, registry_file, registry_b_file):
    ids = _record(db_url)
    before = recall_runs(db_url)
    for registry in (registry_file, registry_b_file):  # the second replaces every registry row
        result = run_cli("sync", "--json", "--db", db_url, "--registry", str(registry))
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["changed"]
    assert recall_runs(db_url) == before and sorted(run.id for run in before) == ids
    status = run_cli("db", "status", "--json", "--db", db_url, "--registry", str(registry_b_file))
    assert json.loads(status.stdout)["recall_runs"] == 3


def test_an_older_database_is_migrated_and_keeps_its_probe_runs(db_url):
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine, "0001")  # a database from before recall runs, holding one probe run
        with engine.begin() as connection:
            connection.execute(
                table(ProbeRunRow).insert(),
                {
                    "module": "retnet",
                    "device": "cpu",
                    "dtype": "float32",
                    "created_at": datetime.now(UTC),
                    "lengths": [64],
                    "archclass_version": __version__,
                },
            )
        _record(db_url)
        with engine.connect() as connection:
            assert migrate.current_revisions(connection) == (migrate.head_revision(),)
            probes = connection.execute(select(func.count()).select_from(table(ProbeRunRow))).scalar()
        assert probes == 1 and len(recall_runs(db_url)) == 3
    finally:
        engine.dispose()


def test_database_problems_are_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ArchclassError) as caught:
        _record(str(blocker / "sub" / "x.db"))
    assert "\n" not in str(caught.value) and "cannot create the directory" in str(caught.value)

    path = tmp_path / "ro.db"
    _record(str(path))
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"  # read-only even for root, unlike chmod
    assert len(recall_runs(read_only)) == 3
    with pytest.raises(ArchclassError) as caught:
        _record(read_only)
    assert "\n" not in str(caught.value) and "readonly" in str(caught.value)
    assert len(recall_runs(str(path))) == 3  # unchanged

    with pytest.raises(ArchclassError) as caught:
        _record("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert "\n" not in str(caught.value) and "cannot open database" in str(caught.value)
    with pytest.raises(ArchclassError) as caught:
        recall_runs("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert "\n" not in str(caught.value) and "cannot open database" in str(caught.value)
