"""From the measurements at each length to growth classes, E and C, and what the reader must be told."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from archclass.classifier import classify_facts, placement_of
from archclass.errors import ArchclassError
from archclass.probe.fit import Fit, fit_growth
from archclass.probe.result import Measurement, ProbeResult
from archclass.vocabulary import GrowthClass

TIME_FIT_FROM = 8192
"""Wall time is fitted over the lengths from here on when there are three of them: below it a step's
reading of its weights and its launches hide the growth of a cache."""
NARROW_SPAN = 8
"""Lengths spanning less than this factor cannot tell a slow growth from none."""
FEW_POINTS = 4


def check_not_shrinking(label: str, measurements: list[Measurement], initial: int) -> None:
    """Refuse a state that only loses what init_state gave it: largest before any token, smaller at
    every length, and smaller again at each longer one. Its running maximum is init_state's size, so it
    would be called compact while it measures nothing about reading tokens."""
    sizes = [m.state_scalars for m in measurements]
    shrinking = all(b < a for a, b in zip([initial, *sizes], sizes, strict=False))
    if initial > 0 and shrinking and measurements[-1].max_state_scalars == initial:
        path = ", ".join(f"{m.state_scalars:,} at T={m.length}" for m in measurements)
        raise ArchclassError(
            f"{label}: the state shrinks as it reads: {initial:,} scalars from init_state, then {path}; "
            "a state that only loses what init_state gave it is not one the probe can classify"
        )


def length_grid(lengths: list[int]) -> dict[str, Any]:
    span = lengths[-1] / lengths[0]
    return {
        "points": len(lengths),
        "span": round(span, 3),
        "too_narrow": span < NARROW_SPAN or len(lengths) < FEW_POINTS,
    }


def summarise(
    label: str,
    measurements: list[Measurement],
    device: str,
    dtype: torch.dtype,
    d_model: int,
    kwargs: dict[str, Any],
    initial_state: int,
) -> ProbeResult:
    check_not_shrinking(label, measurements, initial_state)
    lengths = [m.length for m in measurements]
    state_fit = fit_growth(lengths, [m.max_state_scalars for m in measurements])
    flops_fit = fit_growth(lengths, [m.max_step_flops for m in measurements])
    bytes_fit = fit_growth(lengths, [m.max_step_bytes for m in measurements])
    timed = [m for m in measurements if m.length >= TIME_FIT_FROM]
    timed = timed if len(timed) >= 3 else measurements
    steady = all(m.timing == "cuda graph replay" for m in timed)
    time_fit = fit_growth([m.length for m in timed], [m.step_seconds for m in timed], exact=False, steady=steady)
    # Compute grows if either count grows: a step can move more bytes with the same matrix products.
    compute_fit = max(flops_fit, bytes_fit, key=lambda f: (f.growth.rank, f.exponent))
    flags, fired = classify_facts(
        {"compute": str(compute_fit.growth), "state": str(state_fit.growth), "retrieval": "none"},
        {
            "per_step_compute": f"measured {compute_fit.growth} (exponent {compute_fit.exponent})",
            "state_size": f"measured {state_fit.growth} (exponent {state_fit.exponent})",
            "compute_class": str(compute_fit.growth),
            "state_class": str(state_fit.growth),
            "compute_growth": f"T^{compute_fit.exponent:g}",
            "state_growth": f"T^{state_fit.exponent:g}",
        },
    )
    grid = length_grid(lengths)
    notes = []
    if grid["too_narrow"]:
        notes.append(
            f"the lengths span {grid['span']:g}x in {grid['points']} points: fewer than {FEW_POINTS} points or "
            f"less than {NARROW_SPAN}x cannot tell slow growth (log T) from none; give a wider --lengths"
        )
    constant = GrowthClass.CONSTANT
    if time_fit.growth != compute_fit.growth and (time_fit.growth == constant) != (compute_fit.growth == constant):
        notes.append(
            f"wall time looks {time_fit.growth} while the counted work is {compute_fit.growth}: "
            "on small steps launch overhead and caches hide growth; E is decided from the counts"
        )
    time_check = {
        "from_length": timed[0].length,
        "counted": str(compute_fit.growth),
        "timed": str(time_fit.growth),
        "agrees": time_agrees(compute_fit.growth, time_fit.growth),
    }
    classification = {
        "efficient": flags["efficient"],
        "compact": flags["compact"],
        "recall": None,
        "placement": placement_of(flags["efficient"], flags["compact"], False),
        "rules": [asdict(f) for f in fired if f.property != "recall"],
        "recall_note": "recall is not measured by the probe: see `archclass recall`",
    }
    fits: dict[str, Fit] = {
        "state": state_fit,
        "compute": compute_fit,
        "flops": flops_fit,
        "bytes": bytes_fit,
        "time": time_fit,
    }
    return ProbeResult(
        target=label,
        device=device,
        dtype=str(dtype).removeprefix("torch."),
        d_model=d_model,
        kwargs=kwargs,
        measurements=measurements,
        fit=fits,
        classification=classification,
        length_grid=grid,
        time_check=time_check,
        notes=notes,
    )


def time_agrees(counted: GrowthClass, timed: GrowthClass) -> bool:
    """Whether wall time grows as the counted work does: constant with constant, growing with linear
    or faster. A log or sublinear count agrees with either: over a 16x span of T a log grows too
    little for a timing to tell it from constant."""
    if counted == GrowthClass.CONSTANT:
        return timed == GrowthClass.CONSTANT
    if counted in (GrowthClass.LINEAR, GrowthClass.SUPERLINEAR):
        return timed != GrowthClass.CONSTANT
    return True
