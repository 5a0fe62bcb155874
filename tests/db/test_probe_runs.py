"""record_probe_run stores a run; latest_probe_summary reads the newest from the DEFAULT database only,
and never creates one (``archclass show`` calls it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from archclass.db import latest_probe_summary, record_probe_run
from archclass.db.location import default_db_path, resolve_url, sqlite_file

from ..conftest import run_cli
from .conftest import registry_without


def _run(db: str, *, created_at=None, **overrides):
    """Store a probe result of retnet (changed by OVERRIDES) in DB."""
    result = {**PROBE_RESULT, **overrides}
    return record_probe_run(result, db=db, created_at=created_at)


def test_no_default_database_means_none_and_nothing_created(_private_database, monkeypatch):
    monkeypatch.delenv("ARCHCLASS_DB")
    assert latest_probe_summary("retnet") is None
    assert not default_db_path().exists() and not (_private_database / "archclass").exists()


def test_record_and_read_back_the_latest(db_url, monkeypatch):
    now = datetime.now(UTC)
    first = _run(db_url, created_at=now - timedelta(hours=1), classification={"placement": "E", "efficient": True})
    nan_step = [{**PROBE_RESULT["measurements"][0], "step_seconds": float("nan")}]
    second = _run(db_url, created_at=now, measurements=nan_step)
    _run(db_url, arch_id="mamba", created_at=now + timedelta(hours=1))
    _run(db_url, arch_id=None, target="my_model.py:Mine", classification={})
    assert second > first
    assert latest_probe_summary("retnet") is None  # not the default database
    monkeypatch.setenv("ARCHCLASS_DB", db_url)
    summary = latest_probe_summary("retnet")
    assert summary is not None
    assert summary["id"] == second and summary["probe_placement"] == "EC" and summary["device"] == "cpu"
    assert summary["lengths"] == [64] and summary["measurements"][0]["step_seconds"] is None  # NaN: null
    assert datetime.fromisoformat(summary["created_at"]) == now.replace(microsecond=0)
    assert latest_probe_summary("transformer") is None


#: The shape of archclass.probe.runner.ProbeResult.as_dict(), which `archclass probe` passes as is.
PROBE_RESULT = {
    "target": "retnet",
    "arch_id": "retnet",
    "device": "cpu",
    "dtype": "float32",
    "d_model": 64,
    "kwargs": {"heads": 4},
    "state_scan": "every position",
    "copy_bandwidth_bytes_per_s": None,
    "measurements": [
        {
            "length": n,
            "state_scalars": 4096,
            "state_bytes": 16384,
            "step_flops": 70000,
            "step_bytes": 9000,
            "step_seconds": 1e-4,
            "max_state_scalars": 4096,
            "max_step_flops": 70000,
            "max_step_bytes": 9000,
            "timing": "wall",
            "bandwidth_fraction": None,
        }
        for n in (64, 128, 256)
    ],
    "fit": {
        "state": {"growth": "constant", "exponent": 0.0, "r2": 1.0},
        "compute": {"growth": "constant", "exponent": 0.0, "r2": float("nan")},
    },
    "classification": {
        "efficient": True,
        "compact": True,
        "recall": False,
        "placement": "EC",
        "rules": [{"rule": "constant-step", "property": "efficient", "value": True, "explanation": "..."}],
    },
    "registry": {"id": "retnet", "agrees_all": True},
    "notes": [],
}


def test_record_the_probe_runners_result_dict(db_url, monkeypatch, registry_file, tmp_path):
    monkeypatch.setenv("ARCHCLASS_DB", db_url)
    without_retnet = tmp_path / "no-retnet.yaml"
    without_retnet.write_text(registry_without("retnet"), encoding="utf-8")
    assert run_cli("sync", "--registry", str(without_retnet)).returncode == 0
    run_id = record_probe_run(PROBE_RESULT)  # the default database, as `archclass probe` stores
    summary = latest_probe_summary("retnet")
    assert summary is not None and summary["id"] == run_id
    assert summary["module"] == "retnet" and summary["lengths"] == [64, 128, 256]
    verdict = tuple(summary[f"probe_{key}"] for key in ("placement", "efficient", "compact", "recall"))
    assert verdict == ("EC", True, True, False)
    assert summary["probe_state_growth"] == "constant" and summary["probe_compute_growth"] == "constant"
    assert summary["fit"]["compute"]["r2"] is None  # NaN stored as null
    assert summary["details"]["kwargs"] == {"heads": 4} and summary["details"]["registry"]["agrees_all"]
    assert summary["details"]["classification"] == {"rules": PROBE_RESULT["classification"]["rules"]}
    assert summary["measurements"][0]["state_scalars"] == 4096
    # The database's registry has no retnet: the run waits unlinked, its id kept, until a sync brings it.
    assert (summary["arch_id"], summary["details"]["unlinked_arch_id"]) == (None, "retnet")
    assert run_cli("sync", "--registry", str(registry_file)).returncode == 0
    linked = latest_probe_summary("retnet")
    assert linked is not None and linked["arch_id"] == "retnet" and "unlinked_arch_id" not in linked["details"]


def test_database_problems_while_recording_are_one_line(tmp_path):
    from archclass.errors import ArchclassError

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ArchclassError):
        record_probe_run(PROBE_RESULT, db=str(blocker / "sub" / "x.db"))
    with pytest.raises(ArchclassError, match="needs 'device'"):
        record_probe_run({**PROBE_RESULT, "device": None}, db=str(tmp_path / "ok.db"))
    with pytest.raises(ArchclassError, match="'dtype' contains a NUL"):  # PostgreSQL's text cannot hold one
        record_probe_run({**PROBE_RESULT, "dtype": "float\x0032"}, db=str(tmp_path / "ok.db"))
    with pytest.raises(ArchclassError, match="'module' input should be a valid string"):
        record_probe_run({**PROBE_RESULT, "target": 42}, db=str(tmp_path / "ok.db"))


def test_a_placement_must_be_known(tmp_path):
    from archclass.errors import ArchclassError

    with pytest.raises(ArchclassError, match="placement 'EX' is not one of"):
        _run(str(tmp_path / "p.db"), classification={"placement": "EX"})


def test_show_reads_the_latest_probe_and_never_creates_the_database(tmp_path, registry_file):
    path = tmp_path / "show.db"
    env = {"ARCHCLASS_DB": str(path)}
    result = run_cli("show", "retnet", "--json", "--registry", str(registry_file), env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["latest_probe"] is None and not path.exists()
    _run(str(path))
    data = json.loads(run_cli("show", "retnet", "--json", "--registry", str(registry_file), env=env).stdout)
    assert data["latest_probe"]["probe_placement"] == "EC"


def test_url_resolution(tmp_path, monkeypatch):
    assert resolve_url(str(tmp_path / "a.db")) == "sqlite:///" + str(tmp_path / "a.db")
    assert resolve_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert resolve_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert resolve_url("sqlite:///rel.db") == "sqlite:///rel.db"
    monkeypatch.setenv("ARCHCLASS_DB", "~/x.db")
    assert sqlite_file(resolve_url(None)).name == "x.db" and "~" not in resolve_url(None)
    assert resolve_url("sqlite:////abs/p.db") == "sqlite:////abs/p.db"
    assert str(sqlite_file("sqlite:////abs/p.db")) == "/abs/p.db"
    assert sqlite_file("sqlite://") is None and sqlite_file("postgresql+psycopg://h/d") is None
    monkeypatch.delenv("ARCHCLASS_DB")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    assert default_db_path().parts[-3:] == ("share", "archclass", "archclass.db")


def test_unreachable_server_is_one_line(tmp_path, registry_file):
    result = run_cli("query", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "--registry", str(registry_file))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "cannot open database" in result.stderr
