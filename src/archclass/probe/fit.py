"""Deciding a measured quantity's growth class in T from its running maxima at increasing lengths.

State sizes and counted FLOPs/bytes are exact integers, so "constant" is decided by equality, not by a
tolerance: once T passes every window and chunk, a compact model's state is the same integer at every
length. Otherwise two models are fitted by least squares and compared by their residuals:

    log:    v = a + b log T                        (a Fenwick tree's buckets, a carry chain)
    power:  v = a + b T^p, p from 0.05 to 3        (a cache: p = 1)

The power fit tends to a log as p tends to 0, so a best p below 0.25, or a log fit whose residual is
well below the power fit's, is logarithmic (polylog); otherwise p sets the class. A running maximum
of a quantity that peaks only now and then is a staircase: flat between the lengths where a new peak
was seen. Its flat steps would bend either fit, so a staircase is fitted through its corners (the
first length of each level), and reported as one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from archclass.vocabulary import GrowthClass

POWERS = [round(0.05 * i, 2) for i in range(1, 61)]
LOG_BELOW_POWER = 0.25
LOG_RESIDUAL_SHARE = 0.5


@dataclass(frozen=True)
class Fit:
    growth: GrowthClass
    exponent: float
    r_squared: float
    points: int
    model: str = "power"
    """constant, log or power: the model the growth class was read from."""
    shape: str = "smooth"
    """staircase when the running maxima stay flat between some lengths and rise again later."""
    residuals: dict[str, float] = field(default_factory=dict)
    """Root-mean-square residual of each model fitted, relative to the range of the values."""

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "growth": str(self.growth)}


def _least_squares(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Slope, intercept and R^2 of y against x."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return 0.0, mean_y, 1.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    residual = sum((y - mean_y - slope * (x - mean_x)) ** 2 for x, y in zip(xs, ys, strict=True))
    total = sum((y - mean_y) ** 2 for y in ys)
    return slope, mean_y - slope * mean_x, 1.0 - residual / total if total > 0 else 1.0


def _relative_rms(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Fit y = a + b x; (relative RMS residual, slope b, R^2)."""
    slope, intercept, r_squared = _least_squares(xs, ys)
    spread = max(ys) - min(ys) or 1.0
    rms = math.sqrt(sum((intercept + slope * x - y) ** 2 for x, y in zip(xs, ys, strict=True)) / len(xs))
    return rms / spread, slope, r_squared


def corners(ts: Sequence[float], vs: Sequence[float]) -> tuple[list[float], list[float], bool]:
    """The points where a running maximum reaches a new level (and the first), and whether it is a
    staircase: flat somewhere before its last rise."""
    keep = [0] + [i for i in range(1, len(vs)) if vs[i] != vs[i - 1]]
    last_rise = keep[-1]
    staircase = any(vs[i] == vs[i - 1] for i in range(1, last_rise + 1))
    return [ts[i] for i in keep], [vs[i] for i in keep], staircase


def fit_growth(lengths: Sequence[int], values: Sequence[float], *, exact: bool = True, steady: bool = False) -> Fit:
    """Growth class of `values` (running maxima, or wall times when not exact) at increasing `lengths`.
    steady: the times come from replaying a CUDA graph, steady to a few percent, so a rise over a fixed
    cost can be told from noise; CPU and eager timings drift with the machine's load."""
    if len(lengths) != len(values) or len(lengths) < 3:
        raise ValueError("need at least three lengths to fit a growth class")
    pairs = sorted(zip(lengths, values, strict=True))
    ts = [float(t) for t, _ in pairs]
    vs = [float(v) for _, v in pairs]
    if not exact:
        return _fit_noisy(ts, vs, steady)
    upper = max(3, (len(ts) + 1) // 2)
    if len(set(vs[-upper:])) == 1:
        return Fit(GrowthClass.CONSTANT, 0.0, 1.0, len(ts), model="constant")
    if vs[-1] <= vs[0]:  # falling: nothing grows
        return Fit(GrowthClass.CONSTANT, 0.0, 0.0, len(ts), model="constant")
    fit_ts, fit_vs, staircase = corners(ts, vs)
    if len(fit_ts) < 3:  # too few corners to fit through: use every point
        fit_ts, fit_vs = ts, vs
    shape = "staircase" if staircase else "smooth"
    log_rms, log_slope, log_r2 = _relative_rms([math.log(t) for t in fit_ts], fit_vs)
    power_rms, power, power_r2 = min(
        (rms, p, r2) for p in POWERS for rms, _, r2 in [_relative_rms([t**p for t in fit_ts], fit_vs)]
    )
    residuals = {"log": round(log_rms, 6), "power": round(power_rms, 6)}
    logarithmic = log_slope > 0 and (power < LOG_BELOW_POWER or log_rms < LOG_RESIDUAL_SHARE * power_rms)
    if logarithmic:
        return Fit(GrowthClass.POLYLOG, power, round(log_r2, 4), len(ts), "log", shape, residuals)
    return Fit(_power_class(power), power, round(power_r2, 4), len(ts), "power", shape, residuals)


def _power_class(exponent: float) -> GrowthClass:
    if exponent < 0.8:
        return GrowthClass.SUBLINEAR
    return GrowthClass.LINEAR if exponent <= 1.2 else GrowthClass.SUPERLINEAR


def _fit_noisy(ts: list[float], vs: list[float], steady: bool) -> Fit:
    """Wall time: the plain log-log slope over every length; noise of a few percent cannot make a
    slope of 0.2 over a 16x range of T, and nothing finer is claimed from timings. Below that slope, a
    steady linear rise over a fixed cost still counts as growth."""
    if min(vs) <= 0:
        return Fit(GrowthClass.CONSTANT, 0.0, 0.0, len(ts), model="constant")
    exponent, _, r_squared = _least_squares([math.log(t) for t in ts], [math.log(v) for v in vs])
    if exponent >= 0.2:
        return Fit(_power_class(exponent), round(exponent, 4), round(r_squared, 4), len(ts), model="power")
    # A large fixed cost flattens the log-log slope of a growing step: NSA's step on the H200 took
    # 262 -> 343 us from 8k to 131k tokens (slope 0.09) while its compressed keys grew linearly, and
    # Jamba's 859 -> 962 us (12%: one attention layer's cache under seven Mamba layers). Steady
    # time = a + b T that rises by more than RISE_BEYOND_NOISE of a, fitting well, is growth. (On the
    # CPU, load drift alone took a constant minGRU step from 104 to 154 us with R^2 0.92.)
    slope, intercept, linear_r2 = _least_squares(ts, vs)
    rise = slope * (ts[-1] - ts[0])
    if steady and intercept > 0 and rise > RISE_BEYOND_NOISE * intercept and linear_r2 >= 0.95:
        return Fit(GrowthClass.LINEAR, round(exponent, 4), round(linear_r2, 4), len(ts), model="linear over a constant")
    return Fit(GrowthClass.CONSTANT, round(exponent, 4), round(r_squared, 4), len(ts), model="power")


RISE_BEYOND_NOISE = 0.08
"""How far a timing must rise over the lengths, relative to its fixed part, to count as growth: repeated
medians of one CUDA-graph step vary by a few percent (only such steady timings are judged this way; on
the H200 the constant references' steps varied by at most 5% from 8k to 131k tokens, without a trend)."""
