"""Before measuring a module, make sure it is one the measurements can be trusted for.

The first steps are run from init_state, each on a private copy of the state, and checked:

* every output is a finite (batch, d_model) tensor and every state holds at least one tensor, all
  finite: otherwise nothing measured would mean anything;
* whether `step` changed the state it was given (a transformers Cache does): recorded, since the probe
  then must, and does, give step a private copy before every call it counts or times;
* the outputs equal those of `forward` on the same tokens, and those of `prefill` where the module has
  one, and a step from prefill's (and prefill_state's) state equals a step from the stepped state (the
  OSP rule), within a tolerance set by the dtype. A mismatch is an error that names the rule; `check=False` skips it.

Calls into the module are wrapped, so a module that raises, or even calls sys.exit, fails the probe
with one line that names the method and the position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from archclass.errors import ArchclassError
from archclass.osp import State, copy_state, state_leaves
from archclass.probe.state_size import Buffer, StateMeter, find_buffers

CHECK_STEPS = 8
TOLERANCE = {torch.float64: 1e-6, torch.float32: 2e-3, torch.float16: 2e-2, torch.bfloat16: 6e-2}
"""rtol = atol for step against forward: float32's matches the reference tests, the half precisions
allow the rounding of a different summation order over a few tokens."""


def call(label: str, method: str, function: Callable[..., Any], *args: Any, where: str = "") -> Any:
    """Call into the module; any failure, SystemExit included, becomes one ArchclassError line."""
    try:
        return function(*args)
    except ArchclassError:
        raise
    except torch.OutOfMemoryError:
        raise
    except (Exception, SystemExit) as error:
        if isinstance(error, SystemExit):
            raise ArchclassError(f"{label}: {method}{where} called sys.exit({error.code!r})") from None
        detail = f": {error}" if str(error) else ""
        raise ArchclassError(f"{label}: {method}{where} raised {type(error).__name__}{detail}") from None


def private_copy(label: str, state: State) -> State:
    try:
        return copy_state(state)
    except Exception as error:
        raise ArchclassError(
            f"{label}: the state cannot be copied ({type(error).__name__}: {error}); the probe gives step a "
            "private copy of it before every call it checks, counts or times"
        ) from None


def states_equal(a: State, b: State) -> bool:
    """Same paths, same Python values, same tensor shapes and contents (NaNs equal to NaNs)."""
    leaves_a, leaves_b = list(state_leaves(a)), list(state_leaves(b))
    if [path for path, _ in leaves_a] != [path for path, _ in leaves_b]:
        return False
    for (_, x), (_, y) in zip(leaves_a, leaves_b, strict=True):
        if isinstance(x, Tensor) != isinstance(y, Tensor):
            return False
        if isinstance(x, Tensor):
            if x.shape != y.shape or x.dtype != y.dtype or not torch.equal(x.nan_to_num(), y.nan_to_num()):
                return False
        elif x != y:
            return False
    return True


def check_output(label: str, y: Any, batch: int, d_model: int, where: str) -> None:
    if not isinstance(y, Tensor):
        raise ArchclassError(f"{label}: step{where} returned {type(y).__name__} as its output, not a tensor")
    if tuple(y.shape) != (batch, d_model):
        raise ArchclassError(
            f"{label}: step{where} returned an output of shape {tuple(y.shape)}; the OSP rule is "
            f"y: (batch, d_model) = ({batch}, {d_model})"
        )
    if not bool(torch.isfinite(y).all()):
        raise ArchclassError(f"{label}: step{where} returned NaN or infinite outputs")


def check_state(label: str, state: State, where: str) -> None:
    tensors = [leaf for _, leaf in state_leaves(state) if isinstance(leaf, Tensor)]
    if not tensors:
        raise ArchclassError(
            f"{label}: the state{where} holds no tensors (it is {type(state).__name__}): a module that "
            "carries nothing from one token to the next is not a sequence model the probe can measure"
        )
    bad = [path or "(the state)" for path, leaf in state_leaves(state) if _non_finite(leaf)]
    if bad:
        raise ArchclassError(f"{label}: the state{where} holds NaN or infinite values in {', '.join(bad[:3])}")


def _non_finite(leaf: Any) -> bool:
    return isinstance(leaf, Tensor) and leaf.is_floating_point() and not bool(torch.isfinite(leaf).all())


@dataclass
class Conformance:
    """What the first steps showed about a module."""

    modifies_input: bool
    buffers: list[Buffer]
    sizes: list[int]
    """State bytes after each checked step (index 0: init_state), for the memory estimate."""
    checked: bool
    notes: list[str] = field(default_factory=list)

    @property
    def meter(self) -> StateMeter:
        return StateMeter(self.buffers)


def check_module(model: Any, label: str, x: Tensor, *, check: bool = True) -> Conformance:
    """Run the first x.shape[1] tokens of x (batch, T, d_model) through the module and check them."""
    batch, steps, d_model = x.shape
    state = call(label, "init_state", model.init_state, batch)
    observations, outputs, modified = [private_copy(label, state)], [], False
    with torch.no_grad():
        for t in range(steps):
            given = private_copy(label, state)
            y, new = call(label, "step", model.step, x[:, t], given, where=f" at token {t}")
            where = f" at token {t}"
            check_output(label, y, batch, d_model, where)
            check_state(label, new, f" after token {t}")
            modified = modified or not states_equal(given, state)
            outputs.append(y)
            state = new
            observations.append(private_copy(label, new))
        buffers = find_buffers(observations)
        meter = StateMeter(buffers)
        sizes = [meter.measure(observed)[1] for observed in observations]
        if check:
            _check_parallel_forms(model, label, x, torch.stack(outputs, 1), state)
    notes = [buffer.describe() for buffer in buffers]
    notes.append(
        "step modifies the state it is given in place: the probe gave it a private copy before every "
        "call it counted or timed"
        if modified
        else "step leaves the state it is given unchanged"
    )
    if not check:
        notes.append("the check of step against forward and prefill was skipped (--no-check)")
    return Conformance(modified, buffers, sizes, check, notes)


def _check_parallel_forms(model: Any, label: str, x: Tensor, stepped: Tensor, state: State) -> None:
    tolerance = TOLERANCE.get(x.dtype, 2e-3)
    rule = "step applied from init_state must reproduce forward on the same tokens"
    parallel = call(label, "forward", model.forward, x)
    _compare(label, rule, "forward", parallel, stepped, tolerance)
    if callable(getattr(model, "prefill", None)):
        result = call(label, "prefill", model.prefill, x)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise ArchclassError(f"{label}: prefill returned {type(result).__name__}; the OSP rule is (y, state)")
        prefilled_y, prefilled = result
        _compare(label, "prefill must return forward's outputs", "prefill", prefilled_y, stepped, tolerance)
        check_state(label, prefilled, " returned by prefill")
        _check_step_from(model, label, x, prefilled, state, "prefill", tolerance)
    if callable(getattr(model, "prefill_state", None)):  # used without prefill too: checked on its own
        only = call(label, "prefill_state", model.prefill_state, x)
        check_state(label, only, " returned by prefill_state")
        _check_step_from(model, label, x, only, state, "prefill_state", tolerance)


def _check_step_from(
    model: Any, label: str, x: Tensor, given: State, stepped: State, source: str, tolerance: float
) -> None:
    """A step from the state `source` returned must equal a step from the stepped state (the OSP rule)."""
    token = x[:, -1]
    after_given, _ = call(label, "step", model.step, token, private_copy(label, given), where=f" after {source}")
    after_steps, _ = call(
        label, "step", model.step, token, private_copy(label, stepped), where=" after the checked steps"
    )
    _compare(
        label,
        f"a step from {source}'s state must equal a step from the stepped state",
        f"step after {source}",
        after_given.unsqueeze(1),
        after_steps.unsqueeze(1),
        tolerance,
    )


def _compare(label: str, rule: str, what: str, got: Any, expected: Tensor, tolerance: float) -> None:
    if not isinstance(got, Tensor) or got.shape != expected.shape:
        shape = tuple(got.shape) if isinstance(got, Tensor) else type(got).__name__
        raise ArchclassError(
            f"{label}: OSP rule broken: {rule}; {what} gave {shape}, step gave {tuple(expected.shape)}"
        )
    difference = (got.double() - expected.double()).abs()
    allowed = tolerance + tolerance * expected.double().abs()
    bad = (difference > allowed) | ~torch.isfinite(got)
    if bool(bad.any()):
        token = int(bad.nonzero()[0, 1])
        raise ArchclassError(
            f"{label}: OSP rule broken: {rule}; at token {token} {what} differs from step by "
            f"{float(difference[:, token].max()):.3g} (tolerance {tolerance:g} for "
            f"{str(expected.dtype).removeprefix('torch.')}); --no-check measures it anyway"
        )
