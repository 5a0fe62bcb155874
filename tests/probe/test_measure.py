"""What the probe counts of one step: on CUDA in bfloat16, where fused kernels and grouped-query SDPA
run, every reference's step is counted and computes what its timed (uncounted) step computes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.osp import prefill  # noqa: E402
from archclass.probe.measure import count_step  # noqa: E402
from archclass.reference import build, catalog  # noqa: E402

NAMES = sorted(catalog())


def _prefilled(name: str, device: str, dtype: torch.dtype):
    torch.manual_seed(0)
    model = build(catalog()[name], 64, test=True).to(device=device, dtype=dtype).eval()
    x = torch.randn(1, 21, 64, device=device, dtype=dtype)
    with torch.no_grad():
        _, state = prefill(model, x)
    return model, x[:, -1], state


CASES = [pytest.param(name, "cpu", "float32", id=f"{name}-cpu-float32") for name in NAMES]
if torch.cuda.is_available():
    CASES += [pytest.param(name, "cuda", "bfloat16", id=f"{name}-cuda-bfloat16") for name in NAMES]


@pytest.mark.parametrize(("name", "device", "dtype"), CASES)
def test_a_counted_step_computes_what_the_timed_step_computes(name: str, device: str, dtype: str) -> None:
    model, token, state = _prefilled(name, device, getattr(torch, dtype))
    counted, cost = count_step(model, token, state)
    with torch.no_grad():
        timed, _ = model.step(token, state)
    assert cost.flops > 0 and cost.bytes > 0
    tol = 1e-5 if dtype == "float32" else 3e-2
    torch.testing.assert_close(counted.float(), timed.float(), rtol=tol, atol=tol)
