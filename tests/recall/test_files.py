"""A sweep's files: runs read back, the partial log kept until its runs are safe, sweeps merged."""

from __future__ import annotations

import json

import pytest

from archclass.errors import ArchclassError
from archclass.recall.files import PartialLog, merge_sources, read_runs, refuse_overwrite, run_key


def _run(seed: int, arch: str = "retnet") -> dict:
    return {"arch": arch, "d_model": 16, "seed": seed, "vocab": 8, "seq_len": 16, "n_layers": 2, "overrides": {}}


def _write(path, runs) -> None:
    path.write_text("".join(json.dumps(run) + "\n" for run in runs))


def test_runs_are_read_from_partial_logs_and_results_files(tmp_path):
    _write(tmp_path / "runs.partial.jsonl", [_run(0), _run(1)])
    (tmp_path / "results.json").write_text(json.dumps({"runs": [_run(2)]}))
    assert [r["seed"] for r in read_runs(tmp_path / "runs.partial.jsonl")] == [0, 1]
    assert [r["seed"] for r in read_runs(tmp_path / "results.json")] == [2]


def test_a_file_that_is_not_a_sweep_is_one_line(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(ArchclassError, match="not a recall sweep's"):
        read_runs(tmp_path / "x.json")
    (tmp_path / "y.jsonl").write_text('{"no": "arch"}\n')
    with pytest.raises(ArchclassError, match="not a recall sweep's"):
        read_runs(tmp_path / "y.jsonl")


def test_results_are_not_overwritten_unless_allowed(tmp_path):
    refuse_overwrite(tmp_path, allowed=False, flag="--force")  # nothing there yet
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(ArchclassError, match="exists and would be overwritten.* --force"):
        refuse_overwrite(tmp_path, allowed=False, flag="--force")
    refuse_overwrite(tmp_path, allowed=True, flag="--force")


def test_a_partial_log_with_runs_is_neither_truncated_nor_deleted_while_runs_would_be_lost(tmp_path):
    path = tmp_path / "runs.partial.jsonl"
    _write(path, [_run(0), _run(1)])
    with pytest.raises(ArchclassError, match="holds 2 runs of a sweep cut short"):
        PartialLog(tmp_path, resume=None).refuse_discarding(force=False)
    resumed = PartialLog(tmp_path, resume=path)
    resumed.refuse_discarding(force=False)
    resumed.start([_run(0)])  # resuming its own log: the log keeps what it holds
    resumed.append(_run(2))
    assert [r["seed"] for r in read_runs(path)] == [0, 1, 2]
    note = resumed.finish([_run(0), _run(2)])
    assert note is not None and "1 of its runs" in note and path.exists()
    assert resumed.finish([_run(0), _run(1), _run(2)]) is None and not path.exists()


def test_merging_keeps_each_run_once_and_fills_in_devices(tmp_path):
    _write(tmp_path / "a.jsonl", [_run(0), _run(0, "deltanet")])
    _write(tmp_path / "b.jsonl", [_run(1)])
    runs, described = merge_sources(
        [tmp_path / "a.jsonl", tmp_path / "b.jsonl"], exclude=[("deltanet", "a.jsonl")], devices={"b.jsonl": "H200"}
    )
    assert [(r["arch"], r["seed"]) for r in runs] == [("retnet", 0), ("retnet", 1)]
    assert runs[1]["device"] == "H200" and "device" not in runs[0]
    assert described == [{"path": str(tmp_path / "a.jsonl"), "runs": 1}, {"path": str(tmp_path / "b.jsonl"), "runs": 1}]
    with pytest.raises(ArchclassError, match="give each run once"):
        merge_sources([tmp_path / "b.jsonl", tmp_path / "b.jsonl"])


def test_run_keys_tell_seeds_and_hyperparameters_apart():
    assert run_key(_run(0)) == run_key(dict(_run(0)))
    assert run_key(_run(0)) != run_key(_run(1))
    assert run_key({**_run(0), "overrides": {"window": 4}}) != run_key(_run(0))
