"""The short convolution is an OSP like the mixers: its steps equal its parallel form, and its state is
the last width - 1 inputs."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.osp import prefill, run_steps, state_scalars  # noqa: E402
from archclass.reference.short_conv import ShortConv  # noqa: E402


@pytest.mark.parametrize("width", [1, 2, 4])
def test_short_conv_steps_equal_its_parallel_form_in_float64(width):
    torch.manual_seed(0)
    conv = ShortConv(8, width).double()
    with torch.no_grad():
        conv.weight.normal_()
    x = torch.randn(3, 11, 8, dtype=torch.float64)
    with torch.no_grad():
        stepped, state = run_steps(conv, x)
        parallel, prefilled = prefill(conv, x)
    torch.testing.assert_close(stepped, parallel, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state, prefilled, rtol=0, atol=0)
    assert state_scalars(state) == 3 * 8 * (width - 1)  # the last width - 1 inputs, per channel


def test_short_conv_is_causal():
    conv = ShortConv(4, 4)
    x = torch.randn(1, 10, 4)
    changed = x.clone()
    changed[:, 6:] += 1.0
    with torch.no_grad():
        torch.testing.assert_close(conv(x)[:, :6], conv(changed)[:, :6])


def test_a_width_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        ShortConv(4, 0)
