"""Training runs under bf16 autocast (the recall experiment on a GPU): no reference may produce NaN there.

Large inputs push feature maps and gates to the edges of bf16, where elu(x) + 1 rounds to 0 and a
normaliser can become 0/0; linear attention did exactly that in an H200 recall sweep before its
normaliser was guarded.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.reference import build, catalog  # noqa: E402

NAMES = sorted(catalog())


@pytest.mark.parametrize("name", NAMES)
def test_forward_and_gradients_stay_finite_under_bf16_autocast(name: str) -> None:
    torch.manual_seed(0)
    model = build(catalog()[name], 16, test=True)
    x = (torch.randn(2, 13, 16) * 50).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = model(x)
    assert torch.isfinite(y).all(), f"{name}: non-finite outputs under bf16 autocast"
    y.float().square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all(), f"{name}: non-finite gradients"
