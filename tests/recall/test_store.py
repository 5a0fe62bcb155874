"""A recall sweep's runs land in the database, linked to the registry entry of their reference implementation."""

from __future__ import annotations

from archclass.db import recall_runs
from archclass.recall.experiment import RecallResult
from archclass.recall.store import store_sweep

from ..db.test_recall_runs import _run


def test_runs_are_stored_with_the_sweep_meta_and_the_registry_id_of_their_reference():
    runs = [_run("softmax-attention", 0), _run("mamba", 1)]
    meta = {"device": "NVIDIA H200", "target_accuracy": 0.9, "command": "archclass recall --arch mamba"}
    ids = store_sweep(RecallResult(runs=runs, rows=[], meta=meta, violations=[]))
    stored = {run.id: run for run in recall_runs()}
    assert sorted(stored) == sorted(ids) and len(ids) == 2
    by_arch = {run.arch: run for run in stored.values()}
    assert by_arch["softmax-attention"].arch_id == "transformer"  # the reference's registry id, not its name
    assert {run.device for run in stored.values()} == {"NVIDIA H200"}
    assert {run.details["command"] for run in stored.values()} == {"archclass recall --arch mamba"}
