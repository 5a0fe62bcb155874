"""How big a state is, as the probe counts it: each storage once, a preallocated buffer by its filled part.

A static KV cache allocates room for its longest sequence at once and writes one slot a token into it;
counting the whole buffer would make it look constant, and so compact, when what it holds grows with T.
Such a buffer is recognised by what the module does to it, not by its class: over the first steps its
shape stays fixed while exactly one more slot along one axis differs from how it started, always the
next one. Its filled part is then read from a counter kept beside it: an integer in the state (a Python
int or a one-element integer tensor) that grew by one a step in step with the slots. Where no such
counter exists, the filled part cannot be known and the probe refuses the module rather than guess.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from archclass.errors import ArchclassError
from archclass.osp import State, state_leaves, storage_size


@dataclass(frozen=True)
class Buffer:
    """A preallocated buffer in a state: where it is, the axis it fills along, and its counter."""

    path: str
    axis: int
    slots: int
    counter: str
    offset: int
    """counter value - filled slots, constant while the buffer fills."""
    initial: Tensor | None
    """The buffer's contents before the first step, or None when it was created by a step (then filled
    slots are those that are not zero)."""
    rank: int = 0
    """The buffer's number of dimensions."""

    def describe(self) -> str:
        return (
            f"state tensor {self.path or '(the state)'} is a preallocated buffer of {self.slots} slots along "
            f"axis {self.axis}; only its filled part is counted, as {self.counter} gives it"
        )


def _integer_value(leaf: Any) -> int | None:
    if isinstance(leaf, bool):
        return None
    if isinstance(leaf, int):
        return leaf
    if isinstance(leaf, Tensor) and leaf.numel() == 1 and not leaf.is_floating_point() and leaf.dtype != torch.bool:
        return int(leaf.item())
    return None


def _written_slots(tensor: Tensor, initial: Tensor | None, axis: int) -> Tensor:
    """A bool per slot along `axis`: whether any element of the slot differs from how it started."""
    changed = tensor != (initial if initial is not None else torch.zeros((), dtype=tensor.dtype, device=tensor.device))
    other = [dim for dim in range(tensor.dim()) if dim != axis]
    return changed.any(dim=other) if other else changed


def _filled_prefix(written: Tensor) -> int | None:
    """The length m when the written slots are exactly the first m, else None."""
    m = int(written.sum())
    return m if bool(written[:m].all()) else None


def find_buffers(observations: list[State]) -> list[Buffer]:
    """The preallocated buffers in a module's state, from its states before and after each of its first
    steps (observations[0] from init_state). Raises ArchclassError for a buffer with no counter."""
    views = [dict(state_leaves(state)) for state in observations]
    buffers = []
    for path, last in views[-1].items():
        if not isinstance(last, Tensor) or last.dim() == 0:
            continue
        present = [view[path] for view in views if isinstance(view.get(path), Tensor)]
        first = len(views) - len(present)
        if len(present) < 3 or any(t.shape != last.shape or t.dtype != last.dtype for t in present):
            continue
        initial = present[0] if first == 0 else None
        for axis, slots in enumerate(last.shape):
            if slots <= len(present):
                continue
            prefixes = [_filled_prefix(_written_slots(t, initial, axis)) for t in present]
            counts = [count for count in prefixes if count is not None]
            if len(counts) < len(prefixes) or any(b != a + 1 for a, b in itertools.pairwise(counts)):
                continue
            buffers.append(_with_counter(path, axis, slots, initial, counts, views[first:]))
            break
    return buffers


def _with_counter(
    path: str, axis: int, slots: int, initial: Tensor | None, filled: list[int], views: list[dict[str, Any]]
) -> Buffer:
    candidates = []
    for counter in views[-1]:
        values = [_integer_value(view.get(counter)) for view in views]
        if None in values:
            continue
        offsets = {value - count for value, count in zip(values, filled, strict=True)}  # type: ignore[operator]
        if len(offsets) == 1:
            shared = len(_common_prefix(counter, path))
            candidates.append((shared, counter, offsets.pop()))
    if not candidates:
        raise ArchclassError(
            f"state tensor {path or '(the state)'} is a preallocated buffer ({slots} slots along axis {axis}, "
            f"filled one slot a step), and nothing in the state counts its filled slots, so how much of it "
            f"the module holds cannot be known (a static cache); counting all of it would call a growing "
            f"cache constant. Keep a length beside it (an int or a one-element integer tensor that grows by "
            f"one a step) or use a cache that grows, such as transformers' DynamicCache"
        )
    _, counter, offset = max(candidates)
    return Buffer(path, axis, slots, counter, offset, initial, views[-1][path].dim())


def _common_prefix(a: str, b: str) -> str:
    size = 0
    while size < min(len(a), len(b)) and a[size] == b[size]:
        size += 1
    return a[:size]


class StateMeter:
    """Measures states: (scalars, bytes), each storage once, preallocated buffers by their filled part.
    A buffer's counter is bookkeeping, like a Python step counter, even when it is a tensor: not counted."""

    def __init__(self, buffers: list[Buffer] | None = None) -> None:
        self.buffers = {buffer.path: buffer for buffer in buffers or []}
        self.counters = {buffer.counter for buffer in buffers or []}

    def measure(self, state: State) -> tuple[int, int]:
        leaves = list(state_leaves(state))
        values = dict(leaves)
        tensors: dict[int, Tensor] = {}
        for path, leaf in leaves:
            if isinstance(leaf, Tensor) and id(leaf) not in tensors and path not in self.counters:
                buffer = self.buffers.get(path)
                tensors[id(leaf)] = self._filled(buffer, leaf, values) if buffer else leaf
        return storage_size(list(tensors.values()))

    def scalars(self, state: State) -> int:
        return self.measure(state)[0]

    @staticmethod
    def _filled(buffer: Buffer, tensor: Tensor, values: dict[str, Any]) -> Tensor:
        count = _integer_value(values.get(buffer.counter))
        if count is None or tensor.dim() != buffer.rank:
            raise ArchclassError(
                f"{buffer.describe()}, but at this position the state no longer has that counter or that shape"
            )
        # A buffer may have been moved into a larger one (a cache that doubles when full): same axis,
        # more slots, and slots it never wrote are zeros.
        slots = tensor.shape[buffer.axis]
        filled = min(max(count - buffer.offset, 0), slots)
        rest = tensor.narrow(buffer.axis, filled, slots - filled)
        initial = None
        if buffer.initial is not None and slots == buffer.slots:
            initial = buffer.initial.narrow(buffer.axis, filled, slots - filled)
        if rest.numel() and bool(_written_slots(rest, initial, buffer.axis).any()):
            raise ArchclassError(
                f"{buffer.describe()}, but slots beyond the {filled} it counts have been written: the counter "
                "does not say how much of the buffer is filled, so its size cannot be known"
            )
        return tensor.narrow(buffer.axis, 0, filled)
