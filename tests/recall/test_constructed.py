"""Hand-built matrix memories on MQAR data."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.recall.constructed import constructed_accuracy, constructed_curve  # noqa: E402


@pytest.mark.parametrize("rule", ["linear-attention", "deltanet"])
def test_orthogonal_keys_are_recalled_exactly_up_to_d_k(rule):
    # V = d_k: every key gets its own orthonormal direction, so all d_k pairs are stored exactly.
    assert constructed_accuracy(rule, 16, 16, vocab=16, pairs=16, seq_len=64, sequences=32) == 1.0


def test_with_more_keys_than_dimensions_capacity_grows_with_the_state():
    rows = constructed_curve("linear-attention", [16, 64], 256, [2, 4, 8, 16, 32, 64], 256, 0.9, sequences=64)
    small, large = rows
    assert small["state_scalars"] == 256 and large["state_scalars"] == 4096
    assert 0 < small["capacity"] < large["capacity"]
    assert float(small["accuracy"]["64"]) < 0.9
