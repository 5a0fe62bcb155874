import math

import pytest

from archclass.probe.fit import fit_growth

LENGTHS = [128, 256, 512, 1024, 2048, 4096]


@pytest.mark.parametrize(
    ("values", "growth"),
    [
        ([4096] * 6, "constant"),
        ([100, 200, 300, 300, 300, 300], "constant"),  # a window filling up, then flat
        ([t * 64 + 5000 for t in LENGTHS], "linear"),
        ([int(64 * 64 * (math.log2(t) + 1)) for t in LENGTHS], "polylog"),
        ([int(1000 * math.sqrt(t)) for t in LENGTHS], "sublinear"),
        ([t * t for t in LENGTHS], "superlinear"),
        ([int(t * math.log2(t)) for t in LENGTHS], "linear"),
    ],
)
def test_growth_classes(values, growth):
    assert fit_growth(LENGTHS, values).growth == growth


def test_linear_exponent_is_near_one():
    fit = fit_growth(LENGTHS, [2 * 64 * t for t in LENGTHS])
    assert fit.exponent == pytest.approx(1.0, abs=1e-6) and fit.r_squared == pytest.approx(1.0)


def test_noisy_wall_time_within_five_percent_is_constant():
    assert fit_growth(LENGTHS, [1.00, 1.02, 0.99, 1.01, 1.03, 0.98], exact=False).growth == "constant"


def test_needs_three_points():
    with pytest.raises(ValueError):
        fit_growth([1, 2], [1, 2])
