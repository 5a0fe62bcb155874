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


GPU_LENGTHS = [8192, 16384, 32768, 65536, 131072]


def test_a_step_growing_under_a_large_fixed_cost_is_growing():
    """A sparse-attention step: 250 us fixed, plus 0.7 ns a token, 1% noise; the log-log slope is 0.1."""
    times = [(250e-6 + 0.7e-9 * t) * (1 + 0.01 * (-1) ** i) for i, t in enumerate(GPU_LENGTHS)]
    fit = fit_growth(GPU_LENGTHS, times, exact=False, steady=True)
    assert fit.exponent < 0.2 and fit.growth == "linear"


def test_a_hybrid_whose_one_attention_layer_grows_under_seven_constant_layers_is_growing():
    """Jamba's step on the H200 (d_model 4096, bfloat16), in us: a 12% rise from 8k to 131k tokens."""
    times = [t * 1e-6 for t in (859.4, 860.6, 876.4, 904.4, 962.5)]
    assert fit_growth(GPU_LENGTHS, times, exact=False, steady=True).growth == "linear"


def test_a_drifting_cpu_timing_is_not_taken_for_growth():
    """Measured on the 2-core machine: a constant minGRU step drifted from 104 to 154 us with the load."""
    times = [104.5e-6, 96.9e-6, 103.8e-6, 133.7e-6, 153.7e-6]
    assert fit_growth([128, 256, 512, 1024, 2048], times, exact=False).growth == "constant"


@pytest.mark.parametrize("wobble", [0.03, -0.03])
def test_a_flat_step_with_noise_and_a_drift_stays_constant(wobble):
    times = [100e-6 * (1 + wobble * i / 4 + 0.02 * (-1) ** i) for i in range(len(GPU_LENGTHS))]
    assert fit_growth(GPU_LENGTHS, times, exact=False, steady=True).growth == "constant"


def test_needs_three_points():
    with pytest.raises(ValueError):
        fit_growth([1, 2], [1, 2])


STEPS = [64, 128, 256, 512, 1024, 2048]


@pytest.mark.parametrize(
    "values",
    [
        [6, 6, 8, 8, 10, 10],  # a new peak every other doubling: flat between
        [6, 7, 7, 9, 9, 11],
        [max(bin(t).count("1") for t in range(1, length + 1)) for length in STEPS],  # a Fenwick tree's peak
    ],
)
def test_a_logarithmic_staircase_is_polylog_not_a_power(values):
    fit = fit_growth(STEPS, values)
    assert fit.growth == "polylog" and fit.model == "log"


def test_a_staircase_is_reported_and_fitted_through_its_corners():
    lengths = [128, 192, 256, 384, 512, 768, 1024, 1536, 2048]
    log_steps = fit_growth(lengths, [7, 7, 8, 8, 9, 9, 10, 10, 11])
    assert (log_steps.growth, log_steps.shape) == ("polylog", "staircase")
    doubling = fit_growth(lengths, [10, 10, 20, 20, 40, 40, 80, 80, 160])  # linear, seen once an octave
    assert (doubling.growth, doubling.shape) == ("linear", "staircase")
    assert doubling.exponent == pytest.approx(1.0)


def test_residuals_of_both_models_are_reported():
    fit = fit_growth(LENGTHS, [int(1000 * math.sqrt(t)) for t in LENGTHS])
    assert set(fit.residuals) == {"log", "power"} and fit.residuals["power"] < fit.residuals["log"]
    assert fit.as_dict()["growth"] == "sublinear"
