"""The Online Sequence Processor (OSP) protocol that every reference implementation follows.

A model reads tokens one at a time. Between steps it carries a *state*: every number it keeps from
step t to step t+1. The probe runner measures that state and the work of one step, so the protocol
is deliberately small:

    init_state(batch)      -> state            a pytree (dict / list / tuple) of tensors
    step(x, state)         -> (y, state)       x, y: (batch, d_model)
    forward(x)             -> y                x, y: (batch, T, d_model), the parallel form
    prefill(x)             -> (y, state)       optional: the state after reading x, computed in parallel

`step` applied T times from `init_state` must equal `forward` on the same T tokens. A state's size is
the sum of the sizes of its tensors; a KV cache that grows is a tensor whose length grows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

State = Any  # a pytree of tensors: Tensor | dict[str, State] | list[State] | tuple[State, ...]


@runtime_checkable
class OnlineSequenceProcessor(Protocol):
    def init_state(self, batch: int) -> State: ...

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]: ...

    def forward(self, x: Tensor) -> Tensor: ...


def state_tensors(state: State) -> Iterator[Tensor]:
    """Every tensor in a state pytree, depth first."""
    if isinstance(state, Tensor):
        yield state
    elif isinstance(state, dict):
        for value in state.values():
            yield from state_tensors(value)
    elif isinstance(state, (list, tuple)):
        for value in state:
            yield from state_tensors(value)
    elif state is None or isinstance(state, (int, float, bool, str)):
        # Python scalars (a step counter, say) are bookkeeping the framework could recompute;
        # they carry no information about the tokens, so they are not counted as state.
        return
    else:
        raise TypeError(f"state leaves must be tensors, dicts, lists or tuples, not {type(state).__name__}")


def state_scalars(state: State) -> int:
    """Number of scalars in a state, summed over all its tensors."""
    return sum(t.numel() for t in state_tensors(state))


def state_bytes(state: State) -> int:
    """Bytes a state occupies, summed over all its tensors."""
    return sum(t.numel() * t.element_size() for t in state_tensors(state))


def map_state(fn: Any, state: State) -> State:
    """Apply `fn` to every tensor of a state, keeping its structure."""
    if isinstance(state, Tensor):
        return fn(state)
    if isinstance(state, dict):
        return {key: map_state(fn, value) for key, value in state.items()}
    if isinstance(state, list):
        return [map_state(fn, value) for value in state]
    if isinstance(state, tuple):
        return tuple(map_state(fn, value) for value in state)
    return state


def run_steps(module: OnlineSequenceProcessor, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
    """Feed x (batch, T, d_model) through `step` one token at a time; return outputs and final state."""
    if state is None:
        state = module.init_state(x.shape[0])
    outputs = []
    for t in range(x.shape[1]):
        y, state = module.step(x[:, t], state)
        outputs.append(y)
    return torch.stack(outputs, dim=1), state


def prefill(module: OnlineSequenceProcessor, x: Tensor) -> tuple[Tensor, State]:
    """The state after reading x: the module's own parallel `prefill` if it has one, else stepping."""
    own = getattr(module, "prefill", None)
    if callable(own):
        y, state = own(x)
        return y, state
    return run_steps(module, x)
