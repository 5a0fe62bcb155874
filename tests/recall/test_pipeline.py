"""The whole recall pipeline on CPU, small enough for CI: attention recalls, a recurrent model learns."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from archclass.recall.sweep import violations  # noqa: E402

from ..conftest import run_cli  # noqa: E402


def test_tiny_sweep_trains_attention_to_recall_and_stays_under_the_bound(tmp_path):
    result = run_cli(
        "recall",
        "--arch",
        "softmax-attention",
        "--arch",
        "retnet",
        "--d-model",
        "64",
        "--pairs",
        "2,4",
        "--vocab",
        "16",
        "--seq-len",
        "24",
        "--seeds",
        "1",
        "--steps",
        "600",
        "--batch-size",
        "32",
        "--lr",
        "3e-3",
        "--eval-every",
        "100",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {row["arch"]: row for row in json.loads(result.stdout)}
    attention, retnet = rows["softmax-attention"], rows["retnet"]
    assert attention["accuracy_mean"]["4"] >= 0.9 and attention["capacity_mean"] == 4
    assert retnet["accuracy_mean"]["2"] > 3 / 16  # well above chance (1/V), though far from recalled
    for row in rows.values():
        assert row["bound_pairs"] > row["capacity_mean"]
        assert row["state_bits"] == 32 * row["state_scalars"]  # float32 on CPU
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["meta"]["command"].startswith("archclass recall") and len(saved["runs"]) == 2
    assert (tmp_path / "results.md").read_text().count("|") > 20
    assert (tmp_path / "capacity.png").read_bytes()[:4] == b"\x89PNG"


def _run(capacity: int, bound: float, at_length: dict | None = None) -> dict:
    return {
        "arch": "x",
        "d_model": 8,
        "seed": 0,
        "seq_len": 64,
        "accuracy": {"4": 1.0},
        "capacity": capacity,
        "state_scalars": 10,
        "state_bits": 320,
        "bound_pairs": bound,
        "overrides": {},
        "at_length": at_length or {},
    }


def test_a_capacity_above_its_bound_is_reported_at_any_tested_length():
    assert violations([_run(4, 10.0)]) == []
    assert violations([_run(64, 10.0)]) == ["x d=8 seed=0 T=64: capacity 64 > bound 10"]
    longer = {
        "128": {"accuracy": {"4": 1.0}, "capacity": 12, "state_scalars": 10, "state_bits": 320, "bound_pairs": 10.0}
    }
    assert violations([_run(4, 10.0, longer)]) == ["x d=8 seed=0 T=128: capacity 12 > bound 10"]
