"""Capacity points, located or not, and the log-log fit with its t interval."""

from __future__ import annotations

import math

import pytest

from archclass.recall.tradeoff import best_over_lr, fit_slope, interpolated_capacity, status, t_quantile_975


@pytest.mark.parametrize(("df", "table"), [(1, 12.706), (2, 4.303), (3, 3.182), (5, 2.571), (10, 2.228), (30, 2.042)])
def test_t_quantile_matches_the_table(df, table):
    assert t_quantile_975(df) == pytest.approx(table, abs=3e-3)


def test_interpolated_capacity_lies_between_the_last_passing_and_the_next_k():
    assert interpolated_capacity({4: 1.0, 8: 0.95, 16: 0.5}, 0.9) == pytest.approx(8 * 2 ** (0.05 / 0.45))
    assert interpolated_capacity({4: 0.5, 8: 0.1}, 0.9) == 0.0
    assert interpolated_capacity({4: 1.0, 8: 1.0}, 0.9) == 8.0


def _run(capacity: int, lr: float = 1e-3, plateau: int | None = 100, **extra) -> dict:
    accuracy = {"4": 1.0 if capacity >= 4 else 0.2, "8": 1.0 if capacity >= 8 else 0.1, "16": 0.0}
    return {"arch": "x", "d_model": 8, "seed": 0, "vocab": 64, "capacity": capacity, "accuracy": accuracy,
            "lr": lr, "train_mix": [[16, 2, 1]], "plateau_step": plateau, "overrides": {}, **extra}  # fmt: skip


def test_only_runs_off_the_plateau_and_inside_the_k_range_are_located():
    assert status(_run(8)) == "located"
    assert status(_run(8, plateau=None)) == "plateau"
    assert status(_run(0)) == "below"
    assert status({**_run(16), "accuracy": {"4": 1.0, "16": 1.0}}) == "ceiling"
    assert status(_run(8, diverged=True)) == "diverged"


def test_best_learning_rate_is_kept_per_point():
    best = best_over_lr([_run(4, lr=1e-3), _run(8, lr=1e-2)])
    assert len(best) == 1 and best[0]["lr"] == 1e-2 and best[0]["lrs_tried"] == [1e-3, 1e-2]


def test_fit_recovers_a_known_slope_and_its_interval_covers_it():
    points = [
        {"status": "located", "state_scalars": n, "capacity_interpolated": 0.01 * n**0.5 * (1 + noise),
         "pairs_per_scalar": 1e-3, "bound_fraction": 1e-2}
        for n, noise in [(1e3, 0.02), (1e3, -0.01), (4e3, 0.0), (4e3, 0.03), (1.6e4, -0.02), (6.4e4, 0.01)]
    ]  # fmt: skip
    fit = fit_slope(points)
    assert fit["slope"] == pytest.approx(0.5, abs=0.02)
    low, high = fit["interval"]
    assert low < 0.5 < high and high - low < 0.1
    fit = fit_slope([{**points[0], "status": "plateau"}, points[1], points[2]])
    assert fit["slope"] is None and math.isnan(float("nan"))
