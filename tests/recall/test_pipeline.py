"""The whole recall pipeline on CPU, small enough for CI: attention recalls, a recurrent model learns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

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
        timeout=900,  # 1,200 training steps: minutes on a busy CPU
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


TINY = ("--pairs", "2", "--vocab", "8", "--seq-len", "16", "--steps", "4", "--eval-every", "2", "--batch-size", "4")


def test_a_cut_short_sweep_resumes_with_only_the_missing_runs(tmp_path):
    first = run_cli("recall", "--arch", "retnet", "--d-model", "16", "--seeds", "1", *TINY, "--out", str(tmp_path))
    assert first.returncode == 0, first.stderr[-2000:]
    earlier = tmp_path / "earlier.json"
    earlier.write_text((tmp_path / "results.json").read_text())
    second = run_cli(
        "recall", "--arch", "retnet", "--d-model", "16", "--seeds", "2", *TINY, "--out", str(tmp_path),
        "--resume", str(earlier),
    )  # fmt: skip
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming: 1 runs" in second.stderr and "training 1 models" in second.stderr
    runs = json.loads((tmp_path / "results.json").read_text())["runs"]
    assert sorted(r["seed"] for r in runs) == [0, 1]


def test_every_run_is_stored_in_the_database(tmp_path):
    from archclass.db import recall_runs

    result = run_cli("recall", "--arch", "retnet", "--d-model", "16", "--seeds", "2", *TINY, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    stored = recall_runs()
    assert sorted(r.seed for r in stored) == [0, 1] and {r.arch_id for r in stored} == {"retnet"}


def test_an_impossible_length_is_refused_before_training(tmp_path):
    result = run_cli("recall", "--arch", "retnet", "--pairs", "8", "--seq-len", "16", "--out", str(tmp_path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "shorter than 4 x pairs" in result.stderr
    assert not (tmp_path / "results.json").exists()


def _sweep(tmp_path, name: str, arch: str) -> str:
    out = tmp_path / name
    result = run_cli("recall", "--arch", arch, "--d-model", "16", "--seeds", "1", *TINY, "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    return str(out / "results.json")


def test_report_merges_sweeps_and_still_checks_the_bound(tmp_path):
    a, b = _sweep(tmp_path, "a", "retnet"), _sweep(tmp_path, "b", "deltanet")
    merged = run_cli("recall-report", a, b, "--out", str(tmp_path / "merged"), "--json")
    assert merged.returncode == 0, merged.stderr[-2000:]
    assert {row["arch"] for row in json.loads(merged.stdout)} == {"retnet", "deltanet"}
    assert (tmp_path / "merged" / "capacity.png").exists()

    twice = run_cli("recall-report", a, a, "--out", str(tmp_path / "twice"))
    assert twice.returncode != 0 and "give each run once" in twice.stderr

    excluded = run_cli(
        "recall-report", a, b, "--exclude", "deltanet@results.json", "--out", str(tmp_path / "x"), "--json"
    )
    assert {row["arch"] for row in json.loads(excluded.stdout)} == {"retnet"}

    forged = json.loads(Path(a).read_text())
    forged["runs"][0]["capacity"] = 10**9  # more pairs than the state can hold: must fail loudly
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    broken = run_cli("recall-report", str(tmp_path / "forged.json"), "--out", str(tmp_path / "f"))
    assert broken.returncode == 1 and "capacity above the bound" in broken.stderr


def test_torchrun_shards_configurations_and_rank_zero_gathers_them(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:  # a free port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
        "--master_port", str(port), "-m", "archclass", "recall", "--arch", "retnet", "--arch", "deltanet",
        "--d-model", "16", "--seeds", "2", *TINY, "--no-store", "--no-figure", "--out", str(tmp_path),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["meta"]["device"] == "cpu x 2 (torchrun)"
    assert sorted((r["arch"], r["seed"]) for r in saved["runs"]) == [
        ("deltanet", 0), ("deltanet", 1), ("retnet", 0), ("retnet", 1),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("option", "value", "code", "message"),
    [
        ("--seeds", "0", 2, "--seeds"),
        ("--steps", "0", 2, "--steps"),
        ("--batch-size", "0", 2, "--batch-size"),
        ("--layers", "0", 2, "--layers"),
        ("--accuracy", "0", 2, "--accuracy"),
        ("--accuracy", "2", 2, "--accuracy"),
        ("--lr", "nan", 1, "lr must be a positive finite number, not nan"),
    ],
)
def test_bad_settings_fail_before_anything_is_written(tmp_path, option, value, code, message):
    (tmp_path / "results.json").write_text("committed results\n")
    result = run_cli("recall", "--arch", "retnet", "--d-model", "16", *TINY, option, value, "--out", str(tmp_path))
    assert result.returncode == code, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "results.json").read_text() == "committed results\n"
    assert not (tmp_path / "runs.partial.jsonl").exists()


def test_existing_results_are_replaced_only_when_told(tmp_path):
    (tmp_path / "results.json").write_text("committed results\n")
    refused = run_cli("recall", "--arch", "retnet", "--d-model", "16", "--seeds", "1", *TINY, "--out", str(tmp_path))
    assert refused.returncode == 1 and "exists and would be overwritten" in refused.stderr
    assert (tmp_path / "results.json").read_text() == "committed results\n"
    forced = run_cli(
        "recall", "--arch", "retnet", "--d-model", "16", "--seeds", "1", *TINY, "--out", str(tmp_path), "--force",
        "--no-store",
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert len(json.loads((tmp_path / "results.json").read_text())["runs"]) == 1


def test_runs_of_a_cut_short_sweep_are_not_discarded(tmp_path):
    first = _sweep(tmp_path, "a", "retnet")
    partial = tmp_path / "b" / "runs.partial.jsonl"
    partial.parent.mkdir()
    partial.write_text("".join(json.dumps(run) + "\n" for run in json.loads(Path(first).read_text())["runs"]))
    again = run_cli(
        "recall", "--arch", "retnet", "--d-model", "16", "--seeds", "1", *TINY, "--out", str(partial.parent)
    )
    assert again.returncode == 1 and "holds 1 runs of a sweep cut short" in again.stderr
    assert len(partial.read_text().splitlines()) == 1
    resumed = run_cli(
        "recall", "--arch", "retnet", "--d-model", "16", "--seeds", "2", *TINY, "--out", str(partial.parent),
        "--resume", str(partial), "--no-store",
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming: 1 runs" in resumed.stderr and "training 1 models" in resumed.stderr
    assert not partial.exists()  # every run it held is in results.json now
    runs = json.loads((partial.parent / "results.json").read_text())["runs"]
    assert sorted(r["seed"] for r in runs) == [0, 1]


def test_a_report_does_not_replace_results_unless_told(tmp_path):
    a = _sweep(tmp_path, "a", "retnet")
    refused = run_cli("recall-report", a, "--out", str(Path(a).parent))
    assert refused.returncode == 1 and "exists and would be overwritten" in refused.stderr
    forced = run_cli("recall-report", a, "--out", str(Path(a).parent), "--force", "--no-figure")
    assert forced.returncode == 0, forced.stderr[-2000:]
