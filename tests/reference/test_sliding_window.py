"""The windowed references' banded parallel form equals attention under the full T x T window mask,
across band boundaries (the equivalence tests' 13 tokens fit in one band)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.osp import run_steps  # noqa: E402
from archclass.reference._ops import attend  # noqa: E402
from archclass.reference.sliding_window import SlidingWindowAttention, StreamingLLM  # noqa: E402


def _dense(model, x):
    q, k, v = model.project(x)
    pos = torch.arange(x.shape[1])
    y = attend(q, k, v, model.sees(pos, pos))
    return model.out(y.transpose(1, 2).flatten(-2))


@pytest.mark.parametrize("make", [lambda: SlidingWindowAttention(16, 2, window=5), lambda: StreamingLLM(16, 2, 5, 3)])
@pytest.mark.parametrize("T", [255, 256, 257, 700])
def test_banded_form_equals_the_full_mask_across_bands(make, T):
    torch.manual_seed(0)
    model = make().double()
    x = torch.randn(2, T, 16, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), _dense(model, x), rtol=1e-10, atol=1e-10)


def test_a_window_wider_than_a_band_still_matches_the_steps():
    torch.manual_seed(0)
    model = StreamingLLM(16, 2, window=300, n_sink=2).double()
    x = torch.randn(1, 650, 16, dtype=torch.float64)
    with torch.no_grad():
        stepped, _ = run_steps(model, x)
        torch.testing.assert_close(model(x), stepped, rtol=1e-9, atol=1e-9)
