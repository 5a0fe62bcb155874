"""Planning a sweep (state-size matching), aggregating its runs, and the keys that --resume relies on."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.recall.sweep import (  # noqa: E402
    aggregate,
    diverged,
    grows_with_length,
    plan,
    run_key,
    size_for_state_bytes,
    state_scalars_at,
)
from archclass.recall.train import BYTES_PER_SCALAR, TrainConfig  # noqa: E402
from archclass.reference import catalog  # noqa: E402

BASE = TrainConfig(arch="-", d_model=32, vocab=16, pairs=[2, 4], seq_len=32, overrides={"n_heads": 2})


def _bytes(arch: str, width: int, overrides: dict) -> int:
    scalars = state_scalars_at(catalog()[arch], BASE, width, overrides)
    assert scalars is not None
    return scalars * BYTES_PER_SCALAR


def test_a_window_is_matched_to_a_state_size_at_fixed_width():
    width, overrides = size_for_state_bytes(catalog()["sliding-window-attention"], 6000, BASE, BYTES_PER_SCALAR)
    assert width == 32 and "window" in overrides
    window = overrides["window"]
    # closest of the neighbouring windows: one token of cache more or less moves further from the target
    gaps = {
        w: abs(_bytes("sliding-window-attention", 32, {**overrides, "window": w}) - 6000)
        for w in (window - 1, window, window + 1)
    }
    assert gaps[window] == min(gaps.values())


def test_a_width_is_matched_when_the_family_has_no_other_knob():
    width, overrides = size_for_state_bytes(catalog()["linear-attention"], 20000, BASE, BYTES_PER_SCALAR)
    assert "window" not in overrides and width % 16 == 0
    gaps = {w: abs(_bytes("linear-attention", w, overrides) - 20000) for w in (width - 16, width, width + 16)}
    assert gaps[width] == min(gaps.values())


def test_attention_cannot_be_matched_and_keeps_its_widths():
    assert grows_with_length(catalog()["softmax-attention"], BASE)
    assert not grows_with_length(catalog()["sliding-window-attention"], replace(BASE, overrides={"window": 4}))
    configs = plan(["softmax-attention", "linear-attention"], [16, 32], 2, BASE, [4000, 16000])
    attention = {(c.d_model, c.seed) for c in configs if c.arch == "softmax-attention"}
    assert attention == {(16, 0), (16, 1), (32, 0), (32, 1)}
    matched = sorted({c.d_model for c in configs if c.arch == "linear-attention"})
    assert len(matched) == 2 and _bytes("linear-attention", matched[0], {"n_heads": 2}) < 8000


def test_a_config_and_its_finished_run_have_the_same_key():
    config = replace(BASE, arch="sliding-window-attention", overrides={"window": 6, "n_heads": 2})
    run = {
        "arch": "sliding-window-attention",
        "d_model": 32,
        "seed": 0,
        "vocab": 16,
        "seq_len": 32,
        "n_layers": 2,
        "overrides": {"n_heads": 2, "window": 6},
    }
    assert run_key(config) == run_key(run)
    assert run_key(replace(config, seed=1)) != run_key(run)


def _run(seed: int, capacity: int, loss: float = 0.1) -> dict:
    return {
        "arch": "retnet",
        "d_model": 32,
        "seed": seed,
        "vocab": 16,
        "seq_len": 32,
        "n_layers": 2,
        "overrides": {},
        "accuracy": {"2": 1.0, "4": 0.5},
        "capacity": capacity,
        "state_scalars": 100,
        "state_bits": 3200,
        "bound_pairs": 500.0,
        "tokens_per_second": 1000.0,
        "steps_run": 10,
        "history": [{"step": 10, "loss": loss, "accuracy_min": 0.5, "accuracy_max": 1.0}],
        "at_length": {},
    }


def test_diverged_runs_are_counted_but_left_out_of_the_mean():
    rows = aggregate([_run(0, 2), _run(1, 4), _run(2, 0, loss=math.nan)])
    (row,) = rows
    assert diverged(_run(2, 0, loss=math.nan)) and not diverged(_run(0, 2))
    assert row["seeds"] == 2 and row["diverged"] == 1
    assert row["capacity_mean"] == 3 and row["capacity_std"] == 1


def test_a_size_whose_every_seed_diverged_has_no_capacity():
    (row,) = aggregate([_run(0, 0, loss=math.inf)])
    assert row["capacity_mean"] is None and row["diverged"] == 1
