"""`archclass sync --results` loads the committed probe and recall runs: linked to their architectures,
idempotently, all or nothing, with no local path stored."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

from archclass.db.engine import make_engine
from archclass.db.models import MetaRow, ProbeRunRow, RecallRunRow, table
from archclass.db.ready import ensure_database
from archclass.db.results import COMMITTED, load_committed_results
from archclass.errors import ArchclassError

from ..conftest import ROOT, run_cli
from .conftest import snapshot

PROBE_FILE, RECALL_FILE = COMMITTED


def _committed(path: str):
    return json.loads((ROOT / path).read_text())


def _runs_without_ids(engine) -> dict[str, list[tuple]]:
    runs = snapshot(engine, runs=True)
    return {name: sorted(row[1:] for row in runs[name]) for name in ("probe_runs", "recall_runs")}


def test_sync_results_loads_every_committed_run_once(db_url):
    first = run_cli("sync", "--results", "--json", "--db", db_url)
    assert first.returncode == 0, first.stderr
    probes, recall = _committed(PROBE_FILE), _committed(RECALL_FILE)["runs"]
    assert json.loads(first.stdout)["results"] == {PROBE_FILE: len(probes), RECALL_FILE: len(recall)}
    engine = make_engine(db_url)
    try:
        loaded = _runs_without_ids(engine)
        again = run_cli("sync", "--results", "--db", db_url)
        assert again.returncode == 0, again.stderr
        assert f"loaded {len(probes)} runs from {PROBE_FILE}" in again.stdout
        assert _runs_without_ids(engine) == loaded  # the same rows, not twice as many
        with engine.connect() as connection:
            probe_rows = connection.execute(select(table(ProbeRunRow))).all()
            recall_rows = connection.execute(select(table(RecallRunRow))).all()
    finally:
        engine.dispose()
    assert len(probe_rows) == len(probes) and len(recall_rows) == len(recall)
    assert {row.arch_id for row in probe_rows} == {p["arch_id"] for p in probes}  # every one linked
    links = {(row.arch, row.arch_id) for row in recall_rows}
    assert ("softmax-attention", "transformer") in links and ("linear-attention", "linear-transformer") in links
    assert all(arch_id is not None for _, arch_id in links)
    assert {row.source for row in probe_rows} == {PROBE_FILE} and {row.source for row in recall_rows} == {RECALL_FILE}
    assert {row.device for row in recall_rows} == {run["device"] for run in recall}
    assert all(row.capacity <= row.bound_pairs for row in recall_rows)


def test_a_bad_results_file_changes_nothing(engine, tmp_path, registry_file):
    """The runs loaded before stay, byte for byte, when a later results file cannot be read."""
    ensure_database(engine, ROOT / "data" / "architectures.yaml")
    load_committed_results(engine)
    before = snapshot(engine, runs=True)
    root = tmp_path / "checkout"
    for path in COMMITTED:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, root / path)
    recall = _committed(RECALL_FILE)
    del recall["runs"][-1]["capacity"]
    (root / RECALL_FILE).write_text(json.dumps(recall))
    with pytest.raises(ArchclassError, match=rf"{RECALL_FILE}: a recall run needs 'capacity'"):
        load_committed_results(engine, root)
    (root / RECALL_FILE).unlink()
    with pytest.raises(ArchclassError, match=f"{RECALL_FILE} is not there"):
        load_committed_results(engine, root)
    assert snapshot(engine, runs=True) == before


def test_no_local_absolute_path_is_stored(tmp_path):
    db = str(tmp_path / "archclass.db")
    assert run_cli("sync", "--results", "--db", db).returncode == 0
    engine = make_engine("sqlite:///" + db)
    try:
        with engine.connect() as connection:
            meta = dict(connection.execute(select(table(MetaRow).c.key, table(MetaRow).c.value)).all())
            sources = connection.execute(select(table(ProbeRunRow).c.source).distinct()).scalars().all()
    finally:
        engine.dispose()
    assert meta["registry_path"] == "data/architectures.yaml"
    assert not any(str(ROOT) in value or str(tmp_path) in value for value in meta.values())
    assert sources == [PROBE_FILE]
