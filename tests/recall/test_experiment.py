"""Sweep settings are checked before anything is trained or written, whoever calls (CLI or notebook)."""

from __future__ import annotations

import math

import pytest

from archclass.errors import ArchclassError
from archclass.recall.experiment import SweepSettings


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seeds": 0}, "seeds must be a whole number of at least 1, not 0"),
        ({"steps": 0}, "steps must be"),
        ({"batch_size": 0}, "batch_size must be"),
        ({"layers": 0}, "layers must be"),
        ({"lr": math.nan}, "lr must be a positive finite number, not nan"),
        ({"lr": -1.0}, "lr must be a positive finite number"),
        ({"accuracy": 0.0}, r"accuracy must lie in \(0, 1\], not 0.0"),
        ({"accuracy": 2.0}, r"accuracy must lie in \(0, 1\], not 2.0"),
        ({"d_models": [0]}, "d_model values must be positive"),
        ({"archs": []}, "at least one architecture"),
        ({"eval_every": -1}, "eval_every must be 0"),
    ],
)
def test_settings_that_cannot_make_a_sweep_are_refused(changes, message):
    settings = SweepSettings(**{"archs": ["retnet"], **changes})
    with pytest.raises(ArchclassError, match=message):
        settings.check()


def test_sensible_settings_pass_and_default_the_length():
    settings = SweepSettings(archs=["retnet"], pairs=[2, 64])
    settings.check()
    assert settings.length == 256


def test_an_impossible_length_is_refused_by_the_plan():
    pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")
    with pytest.raises(ArchclassError, match="shorter than 4 x pairs"):
        SweepSettings(archs=["retnet"], pairs=[8], seq_len=16).base()


def test_a_report_from_a_notebook_merges_runs_and_checks_the_bound(tmp_path):
    import json

    pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")  # the summary's module

    from archclass.recall import report

    run = {
        "arch": "retnet", "d_model": 16, "seed": 0, "vocab": 8, "seq_len": 16, "n_layers": 2, "overrides": {},
        "accuracy": {"2": 1.0}, "capacity": 2, "state_scalars": 256, "state_bits": 8192, "bound_pairs": 900.0,
        "tokens_per_second": 1.0, "steps_run": 4, "at_length": {},
    }  # fmt: skip
    (tmp_path / "a.jsonl").write_text(json.dumps(run) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({**run, "seed": 1, "capacity": 1000}) + "\n")
    merged = report([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert len(merged.runs) == 2 and merged.rows[0]["seeds"] == 2
    assert merged.violations == ["retnet d=16 seed=1 T=16: capacity 1000 > bound 900"]
