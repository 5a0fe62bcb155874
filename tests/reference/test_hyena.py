"""Hyena's step past its buffers' first capacity, and after its filter's weights change: the filter
taps it keeps between steps must never be stale."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.osp import run_steps  # noqa: E402
from archclass.reference.hyena import Hyena  # noqa: E402


def _model() -> Hyena:
    torch.manual_seed(0)
    return Hyena(16, filter_hidden=8).double()


def test_steps_equal_the_parallel_form_across_several_doublings_of_the_taps():
    model = _model()
    x = torch.randn(2, 70, 16, dtype=torch.float64)  # 16 -> 32 -> 64 -> 128 slots
    with torch.no_grad():
        stepped, state = run_steps(model, x)
        torch.testing.assert_close(stepped, model(x), rtol=1e-9, atol=1e-9)
    assert state["length"] == 70 and state["history"].shape[2] >= 70


def test_changed_filter_weights_are_used_by_the_next_step():
    model = _model()
    x = torch.randn(1, 20, 16, dtype=torch.float64)
    with torch.no_grad():
        run_steps(model, x)  # fills the kept taps
        model.filter.mlp[0].weight.mul_(1.5)
        stepped, _ = run_steps(model, x)
        torch.testing.assert_close(stepped, model(x), rtol=1e-9, atol=1e-9)
