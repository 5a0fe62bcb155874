"""Every reference implementation: recurrent form == parallel form, exact state size, split decoding.

Parametrised over archclass.reference.catalog(), so a new family file is tested by being added.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.osp import prefill, run_steps, state_scalars  # noqa: E402
from archclass.reference import build, catalog  # noqa: E402

SPECS = catalog()
NAMES = sorted(SPECS)
D_MODEL = 16
T_ODD = 13  # not a multiple of any test window or chunk size


def _model(name: str, dtype: torch.dtype, device: str = "cpu") -> torch.nn.Module:
    torch.manual_seed(0)
    model = build(SPECS[name], D_MODEL, test=True).to(device=device, dtype=dtype).eval()
    return model


def _input(T: int, dtype: torch.dtype, batch: int = 2, device: str = "cpu", seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, T, D_MODEL, generator=generator, dtype=torch.float64).to(device=device, dtype=dtype)


@pytest.mark.parametrize("name", NAMES)
def test_step_matches_forward_float64(name: str) -> None:
    model = _model(name, torch.float64)
    x = _input(T_ODD, torch.float64)
    with torch.no_grad():
        parallel = model(x)
        stepped, _ = run_steps(model, x)
    torch.testing.assert_close(stepped, parallel, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_step_matches_forward_float32(name: str) -> None:
    model = _model(name, torch.float32)
    x = _input(T_ODD, torch.float32)
    with torch.no_grad():
        parallel = model(x)
        stepped, _ = run_steps(model, x)
    torch.testing.assert_close(stepped, parallel, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("name", NAMES)
def test_first_step_from_init_state(name: str) -> None:
    model = _model(name, torch.float64)
    x = _input(1, torch.float64)
    with torch.no_grad():
        y, state = model.step(x[:, 0], model.init_state(2))
        torch.testing.assert_close(y, model(x)[:, 0], rtol=1e-9, atol=1e-9)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", NAMES)
def test_state_size_is_exact(name: str) -> None:
    spec = SPECS[name]
    if spec.state_scalars is None:
        pytest.fail(f"reference {name!r} declares no state_scalars formula")
    model = _model(name, torch.float64)
    kwargs = dict(spec.test_kwargs)
    for T in (7, 29):
        assert _measured_state(model, _input(T, torch.float64, batch=1)) == spec.state_scalars(T, D_MODEL, kwargs), T


def _measured_state(model: torch.nn.Module, x: torch.Tensor) -> int:
    """State scalars after stepping through x, as the probe counts them: a cache buffer with spare
    slots counts only the slots its length says are filled."""
    from archclass.osp import copy_state
    from archclass.probe.conformance import CHECK_STEPS
    from archclass.probe.state_size import StateMeter, find_buffers

    state = model.init_state(1)
    observations = [copy_state(state)]
    with torch.no_grad():
        for t in range(x.shape[1]):
            _, state = model.step(x[:, t], state)
            if t < CHECK_STEPS:
                observations.append(copy_state(state))
    return StateMeter(find_buffers(observations)).scalars(state)


def test_a_cache_buffer_counts_only_its_filled_slots() -> None:
    model = _model("gqa", torch.float64)
    _, state = run_steps(model, _input(40, torch.float64, batch=1))  # past MIN_SLOTS: the buffer has grown
    assert state["length"] == 40 and state["k"].shape[2] == 64  # 16 slots, then room for twice 17
    assert state_scalars(state) == 2 * 2 * 64 * (D_MODEL // 4)  # the raw buffers, spare slots included
    counted = _measured_state(model, _input(40, torch.float64, batch=1))
    assert counted == 2 * 2 * 40 * (D_MODEL // 4) == SPECS["gqa"].state_scalars(40, D_MODEL, SPECS["gqa"].test_kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_split_decoding(name: str) -> None:
    model = _model(name, torch.float64)
    x = _input(T_ODD, torch.float64)
    with torch.no_grad():
        whole = model(x)
        head, state = prefill(model, x[:, :6])
        tail, _ = run_steps(model, x[:, 6:], state)
    torch.testing.assert_close(torch.cat([head, tail], dim=1), whole, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_prefill_state_equals_stepped_state(name: str) -> None:
    model = _model(name, torch.float64)
    if not callable(getattr(model, "prefill", None)):
        pytest.skip(f"{name} has no parallel prefill; the probe steps it")
    x = _input(T_ODD, torch.float64)
    with torch.no_grad():
        _, prefilled = model.prefill(x)
        _, stepped = run_steps(model, x)
    from archclass.osp import state_tensors

    for a, b in zip(state_tensors(prefilled), state_tensors(stepped), strict=True):
        torch.testing.assert_close(*_common_slots(a, b), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_prefill_state_is_prefills_state_without_the_outputs(name: str) -> None:
    """prefill_state is how the probe reaches 131k tokens where the outputs cost T x T; it must be the
    very state prefill returns."""
    model = _model(name, torch.float64)
    if not callable(getattr(model, "prefill_state", None)):
        pytest.skip(f"{name} has no prefill_state")
    x = _input(T_ODD, torch.float64)
    with torch.no_grad():
        _, prefilled = model.prefill(x)
        only = model.prefill_state(x)
    from archclass.osp import state_leaves

    assert [path for path, _ in state_leaves(only)] == [path for path, _ in state_leaves(prefilled)]
    for (_, a), (_, b) in zip(state_leaves(only), state_leaves(prefilled), strict=True):
        if isinstance(a, torch.Tensor):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        else:
            assert a == b


def _common_slots(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cache buffers of different capacities: the slots both have, after checking that the larger
    holds nothing (zeros) in the rest."""
    for axis, (m, n) in enumerate(zip(a.shape, b.shape, strict=True)):
        if m != n:
            larger, size = (a, n) if m > n else (b, m)
            assert not larger.narrow(axis, size, larger.shape[axis] - size).any(), "spare slots were written"
            a, b = a.narrow(axis, 0, min(m, n)), b.narrow(axis, 0, min(m, n))
    return a, b


@pytest.mark.parametrize("name", NAMES)
def test_batch_independence(name: str) -> None:
    model = _model(name, torch.float64)
    x = _input(T_ODD, torch.float64, batch=3)
    changed = x.clone()
    changed[1] = torch.randn_like(changed[1])
    with torch.no_grad():
        a, _ = run_steps(model, x)
        b, _ = run_steps(model, changed)
    torch.testing.assert_close(a[0], b[0])
    torch.testing.assert_close(a[2], b[2])
    assert not torch.allclose(a[1], b[1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_cuda_step_matches_forward(name: str, dtype: str) -> None:
    torch_dtype = getattr(torch, dtype)
    model = _model(name, torch_dtype, device="cuda")
    x = _input(T_ODD, torch_dtype, device="cuda")
    with torch.no_grad():
        parallel = model(x).float()
        stepped, _ = run_steps(model, x)
    tol = 2e-3 if dtype == "float32" else 6e-2
    torch.testing.assert_close(stepped.float(), parallel, rtol=tol, atol=tol)
