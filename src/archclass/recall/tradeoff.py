"""Recall capacity against state, as numbers: the best learning rate per point, which capacities are
located, the log-log slope of capacity in state per family with its 95% interval, pairs per state
scalar, and the fraction of the information bound each point reaches.

A run's capacity is *located* when the run left the first MQAR plateau and 0 < capacity < the largest
K tried: a run still on the plateau measures its training, a run at the largest K only a lower bound,
and a run below the smallest K an upper bound. Only located capacities enter a fit.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

_Z975 = 1.959963984540054


_T975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281)
"""The 0.975 quantiles of Student's t for 1..10 degrees of freedom (standard tables)."""


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with df degrees of freedom (for a two-sided 95% interval):
    tabulated up to 10, above that the Cornish-Fisher expansion in 1/df (within 1e-3 there)."""
    if df < 1:
        raise ValueError("a t interval needs at least one degree of freedom")
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def interpolated_capacity(accuracy: dict[int, float], target: float) -> float:
    """Where accuracy crosses `target` between the largest K that reaches it and the next K tried,
    linear in log2 K (0 if no K reaches it; the largest K if every one does)."""
    ks = sorted(accuracy)
    passing = [k for k in ks if accuracy[k] >= target]
    if not passing:
        return 0.0
    low = max(passing)
    above = [k for k in ks if k > low]
    if not above:
        return float(low)
    high = above[0]
    a_low, a_high = accuracy[low], accuracy[high]
    fraction = (a_low - target) / (a_low - a_high) if a_low > a_high else 0.0
    return float(low * (high / low) ** min(max(fraction, 0.0), 1.0))


def status(run: dict[str, Any]) -> str:
    """located, plateau (never left the first plateau), ceiling (recalled the largest K tried), below
    (left the plateau but recalled not even the smallest K), or diverged."""
    if run.get("diverged"):
        return "diverged"
    if run.get("train_mix") and run.get("plateau_step") is None:
        return "plateau"
    largest = max(int(k) for k in run["accuracy"])
    if run["capacity"] >= largest:
        return "ceiling"
    if run["capacity"] <= 0:
        return "below"
    return "located"


def _score(run: dict[str, Any]) -> tuple[float, float]:
    """How well a run recalls: its capacity, then its mean accuracy over K (ties)."""
    return (run["capacity"], statistics.fmean(run["accuracy"].values()))


def best_over_lr(runs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (architecture, width, size settings, seed): the run of the learning rate that recalls best,
    as Zoology keeps the best learning rate per point. Each kept run lists the lrs it was chosen from."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        key = (run["arch"], run["d_model"], tuple(sorted(run.get("overrides", {}).items())), run["seed"], run["vocab"])
        groups[key].append(run)
    best = []
    for members in groups.values():
        usable = [r for r in members if not r.get("diverged")] or members
        winner: dict[str, Any] = max(usable, key=_score)
        chosen = dict(winner)
        chosen["lrs_tried"] = sorted(r.get("lr") for r in members if r.get("lr") is not None)
        best.append(chosen)
    return best


def point(run: dict[str, Any], target: float) -> dict[str, Any]:
    """One run as a point of the trade-off: state, capacity (grid and interpolated), status, bound use."""
    accuracy = {int(k): v for k, v in run["accuracy"].items()}
    interp = interpolated_capacity(accuracy, target)
    bound = run.get("bound_pairs")
    return {
        "arch": run["arch"],
        "d_model": run["d_model"],
        "seed": run["seed"],
        "lr": run.get("lr"),
        "lrs_tried": run.get("lrs_tried", []),
        "state_scalars": run["state_scalars"],
        "state_bits": run["state_bits"],
        "capacity": run["capacity"],
        "capacity_interpolated": interp,
        "status": status(run),
        "plateau_step": run.get("plateau_step"),
        "bound_pairs": bound,
        "bound_fraction": interp / bound if bound else None,
        "pairs_per_scalar": interp / run["state_scalars"] if run["state_scalars"] else None,
    }


def fit_slope(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Least squares of log capacity on log state scalars over located points (seeds x sizes): slope,
    its 95% t interval, the intercept, and the number of points and of distinct sizes."""
    located = [p for p in points if p["status"] == "located" and p["capacity_interpolated"] > 0]
    sizes = sorted({p["state_scalars"] for p in located})
    result: dict[str, Any] = {"points": len(located), "sizes": len(sizes), "slope": None, "interval": None}
    if len(located) < 3 or len(sizes) < 2:
        result["note"] = "fewer than 3 located points at 2 or more sizes: no slope"
        return result
    xs = [math.log(p["state_scalars"]) for p in located]
    ys = [math.log(p["capacity_interpolated"]) for p in located]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = my - slope * mx
    residual = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    df = len(xs) - 2
    se = math.sqrt(residual / df / sxx) if df > 0 else math.inf
    half = t_quantile_975(df) * se
    ratios = [p["pairs_per_scalar"] for p in located]
    result.update(
        slope=slope,
        interval=[slope - half, slope + half],
        intercept=intercept,
        pairs_per_scalar_median=statistics.median(ratios),
        bound_fraction_median=statistics.median(p["bound_fraction"] for p in located if p["bound_fraction"]),
    )
    return result


def tradeoff(runs: list[dict[str, Any]], target: float) -> dict[str, Any]:
    """Every family's points (best lr per seed and size) and its fit."""
    points = [point(run, target) for run in best_over_lr(runs)]
    families: dict[str, dict[str, Any]] = {}
    for arch in sorted({p["arch"] for p in points}):
        members = sorted((p for p in points if p["arch"] == arch), key=lambda p: (p["state_scalars"], p["seed"]))
        grows = any(run.get("state_grows_with_length") for run in runs if run["arch"] == arch)
        fit = {"note": "state grows with T: a reference, not fitted"} if grows else fit_slope(members)
        families[arch] = {"fit": fit, "points": members, "state_grows": grows}
    return families
