"""The Online Sequence Processor (OSP) protocol that every reference implementation follows.

A model reads tokens one at a time. Between steps it carries a *state*: every number it keeps from
step t to step t+1. The probe runner measures that state and the work of one step, so the protocol
is deliberately small:

    init_state(batch)      -> state            any object that holds tensors
    step(x, state)         -> (y, state)       x, y: (batch, d_model)
    forward(x)             -> y                x, y: (batch, T, d_model), the parallel form
    prefill(x)             -> (y, state)       optional: the state after reading x, computed in parallel
    prefill_state(x)       -> state            optional: prefill's state without its outputs, for modules
                                               whose outputs cost T x T work but whose state does not

`step` applied T times from `init_state` must equal `forward` on the same T tokens. A state may be a
tensor, a dict, list or tuple of states, a dataclass, or any object whose attributes hold them (a
transformers or fla Cache, say); its tensors are found generically by `state_leaves`, the one walker
every part of archclass uses. A state's size is the number of scalars in its storages, each storage
counted once; a KV cache that grows is a tensor whose length grows.
"""

from __future__ import annotations

import copy
import enum
import types
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

State = Any
"""Anything that holds tensors: a tensor, containers of states, dataclasses, plain objects."""

SCALAR_TYPES = (bool, int, float, complex, str, bytes, type(None))
"""Python values kept beside the tensors (a step counter, a flag): bookkeeping, not counted as state,
but walked, so a counter next to a preallocated buffer can say how much of it is filled."""

_OPAQUE = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType, enum.Enum)


@runtime_checkable
class OnlineSequenceProcessor(Protocol):
    def init_state(self, batch: int) -> State: ...

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]: ...

    def forward(self, x: Tensor) -> Tensor: ...


def state_leaves(state: State) -> Iterator[tuple[str, Any]]:
    """Every tensor and Python scalar in a state, with its path (".layers[0].keys", "['h']"), depth first.

    Containers are entered once even when reached twice, so a cycle or a shared sub-object yields its
    leaves once. Module weights (an nn.Module or nn.Parameter inside a state) are not state; functions,
    classes and enums hold none.
    """
    seen: set[int] = set()

    def walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
        if isinstance(value, Tensor):
            if not isinstance(value, nn.Parameter):
                yield path, value
            return
        if isinstance(value, SCALAR_TYPES):
            yield path, value
            return
        if isinstance(value, (nn.Module, *_OPAQUE)) or id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, Mapping):
            for key, item in value.items():
                yield from walk(item, f"{path}[{key!r}]")
        elif isinstance(value, (list, tuple, deque, set, frozenset)):
            for index, item in enumerate(value):
                yield from walk(item, f"{path}[{index}]")
        else:
            for name, item in _attributes(value):
                yield from walk(item, f"{path}.{name}")

    yield from walk(state, "")


def _attributes(value: Any) -> list[tuple[str, Any]]:
    """An object's own attributes: its instance __dict__ and its __slots__ (dataclasses have one or
    the other); objects with neither (dtypes, devices) hold no tensors."""
    found = dict(vars(value)) if hasattr(value, "__dict__") else {}
    for cls in type(value).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in found and name not in ("__dict__", "__weakref__") and hasattr(value, name):
                found[name] = getattr(value, name)
    return sorted(found.items())


def state_tensors(state: State) -> Iterator[Tensor]:
    """Every tensor in a state, depth first, each tensor object once."""
    seen: set[int] = set()
    for _, leaf in state_leaves(state):
        if isinstance(leaf, Tensor) and id(leaf) not in seen:
            seen.add(id(leaf))
            yield leaf


def storage_size(tensors: list[Tensor]) -> tuple[int, int]:
    """(scalars, bytes) held by some tensors, each storage counted once: tensors that share a storage
    (a tensor kept twice, views into one buffer) count the union of the elements they show."""
    groups: dict[tuple[str, int], list[Tensor]] = {}
    scalars = nbytes = 0
    for tensor in tensors:
        pointer = tensor.untyped_storage().data_ptr() if tensor.numel() and tensor.device.type != "meta" else 0
        if pointer == 0:  # empty (or meta) tensors own no memory worth sharing
            scalars += tensor.numel()
            nbytes += tensor.numel() * tensor.element_size()
            continue
        groups.setdefault((str(tensor.device), pointer), []).append(tensor)
    for members in groups.values():
        if len(members) == 1:
            scalars += members[0].numel()
            nbytes += members[0].numel() * members[0].element_size()
            continue
        shown = _union_bytes(members)
        nbytes += shown
        scalars += shown // members[0].element_size()
    return scalars, nbytes


def _union_bytes(members: list[Tensor]) -> int:
    """Bytes of one storage that at least one of `members` shows, found by marking each view's bytes."""
    mask = torch.zeros(members[0].untyped_storage().nbytes(), dtype=torch.bool, device=members[0].device)
    for tensor in members:
        size = tensor.element_size()
        shape = (*tensor.shape, size)
        strides = (*(stride * size for stride in tensor.stride()), 1)
        mask.as_strided(shape, strides, tensor.storage_offset() * size).fill_(True)
    return int(mask.sum())


def state_scalars(state: State) -> int:
    """Number of scalars in a state, each storage counted once."""
    return storage_size(list(state_tensors(state)))[0]


def state_bytes(state: State) -> int:
    """Bytes a state occupies, each storage counted once."""
    return storage_size(list(state_tensors(state)))[1]


def copy_state(state: State) -> State:
    """A private copy of a state: every tensor cloned, views into one storage still sharing the copy of
    it, the objects around them copied too. A module whose step writes into its state in place (a
    transformers Cache does) can be given a copy and the original stays as it was. Tensors that carry
    autograd history (a state made from parameters outside no_grad) are copied detached."""
    memo: dict[int, Any] = {}
    for tensor in state_tensors(state):
        if tensor.grad_fn is not None:
            memo[id(tensor)] = tensor.detach().clone()
    return copy.deepcopy(state, memo)


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
