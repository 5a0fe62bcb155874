"""Deciding a measured quantity's growth class in T from its values at increasing lengths.

State sizes and counted FLOPs/bytes are exact integers, so "constant" is decided by equality, not by a
tolerance: once T passes every window and chunk, a compact model's state is the same integer at every
length. For the rest, the growth exponent is the log-log slope of the *increase* over the smallest
length (which removes the constant offset of projections and the like), fitted over the upper half of
the lengths; a slope that keeps shrinking as T doubles, with roughly equal increments per doubling, is
logarithmic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from archclass.vocabulary import GrowthClass


@dataclass(frozen=True)
class Fit:
    growth: GrowthClass
    exponent: float
    r_squared: float
    points: int

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "growth": str(self.growth)}


def _least_squares(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Slope and R^2 of y against x."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return 0.0, 1.0
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    residual = sum((y - mean_y - slope * (x - mean_x)) ** 2 for x, y in zip(xs, ys, strict=True))
    total = sum((y - mean_y) ** 2 for y in ys)
    return slope, 1.0 - residual / total if total > 0 else 1.0


def fit_growth(lengths: Sequence[int], values: Sequence[float], *, exact: bool = True) -> Fit:
    """Growth class and exponent of `values` measured at increasing `lengths`."""
    if len(lengths) != len(values) or len(lengths) < 3:
        raise ValueError("need at least three lengths to fit a growth class")
    pairs = sorted(zip(lengths, values, strict=True))
    ts = [float(t) for t, _ in pairs]
    vs = [float(v) for _, v in pairs]
    upper = max(3, (len(ts) + 1) // 2)
    tail_t, tail_v = ts[-upper:], vs[-upper:]
    if exact and len(set(tail_v)) == 1:
        return Fit(GrowthClass.CONSTANT, 0.0, 1.0, len(ts))
    if not exact:
        return _fit_noisy(ts, vs)
    base_t, base_v = ts[0], vs[0]
    rises = [(t - base_t, v - base_v) for t, v in zip(tail_t, tail_v, strict=True) if t > base_t and v > base_v]
    if len(rises) < 2:
        # Falling or flat-then-noisy values: nothing grows.
        return Fit(GrowthClass.CONSTANT, 0.0, 0.0, len(ts))
    xs = [math.log(dt) for dt, _ in rises]
    ys = [math.log(dv) for _, dv in rises]
    exponent, r_squared = _least_squares(xs, ys)
    # Against log T: increments per doubling stay roughly equal when growth is logarithmic.
    log_slope, log_r2 = _least_squares([math.log(t) for t in tail_t], tail_v)
    logarithmic = exponent < 0.35 or (exponent < 0.6 and log_r2 > 0.995 and log_slope > 0 and r_squared < log_r2)
    growth = GrowthClass.POLYLOG if logarithmic else _power_class(exponent)
    return Fit(growth, round(exponent, 4), round(r_squared, 4), len(ts))


def _power_class(exponent: float) -> GrowthClass:
    if exponent < 0.8:
        return GrowthClass.SUBLINEAR
    return GrowthClass.LINEAR if exponent <= 1.2 else GrowthClass.SUPERLINEAR


def _fit_noisy(ts: list[float], vs: list[float]) -> Fit:
    """Wall time: the plain log-log slope over every length; noise of a few percent cannot make a
    slope below 0.2 over a 16x range of T, and nothing finer is claimed from timings."""
    if min(vs) <= 0:
        return Fit(GrowthClass.CONSTANT, 0.0, 0.0, len(ts))
    exponent, r_squared = _least_squares([math.log(t) for t in ts], [math.log(v) for v in vs])
    growth = GrowthClass.CONSTANT if exponent < 0.2 else _power_class(exponent)
    return Fit(growth, round(exponent, 4), round(r_squared, 4), len(ts))
