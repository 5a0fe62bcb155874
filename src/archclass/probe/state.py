"""Count the scalars a state holds, whatever object holds them.

A state may be a pytree of tensors, a transformers ``Cache`` (per-layer objects with key, value, conv
and recurrent tensors), fla's ``Cache``, a dataclass or a plain object. The walk finds tensors
generically (mappings, sequences, dataclass fields, instance attributes and slots), never by class
name, and counts each storage once: the same tensor referenced twice, or two views of one buffer, is
one state. A preallocated buffer (an object with ``max_cache_len``) counts only the part filled so far,
which the caller must know; without it the count is refused rather than overstated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archclass.errors import ArchclassError

MAX_DEPTH = 64


@dataclass
class StateCount:
    scalars: int = 0
    bytes: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _children(node: Any) -> list[tuple[str, Any]]:
    if isinstance(node, Mapping):
        return [(f"[{key!r}]", value) for key, value in node.items()]
    if isinstance(node, (list, tuple)):
        return [(f"[{index}]", value) for index, value in enumerate(node)]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return [(f".{f.name}", getattr(node, f.name, None)) for f in dataclasses.fields(node)]
    if isinstance(node, (str, bytes, int, float, bool, type(None), type)) or callable(node):
        return []
    found: list[tuple[str, Any]] = []
    for name in getattr(type(node), "__slots__", ()):
        if hasattr(node, name):
            found.append((f".{name}", getattr(node, name)))
    if hasattr(node, "__dict__"):
        found.extend((f".{name}", value) for name, value in vars(node).items())
    return found


def count_state(state: Any, filled: int | None = None) -> StateCount:
    """Scalars and bytes of every tensor reachable from STATE, each storage once."""
    import torch

    result = StateCount()
    largest: dict[tuple[int, str], tuple[int, int, str]] = {}  # storage -> (elements, bytes, path)
    seen: set[int] = set()
    stack: list[tuple[str, Any, int, int | None]] = [("state", state, 0, None)]
    while stack:
        path, node, depth, capacity = stack.pop()
        if id(node) in seen or depth > MAX_DEPTH:
            continue
        seen.add(id(node))
        if isinstance(node, torch.Tensor):
            elements = node.numel()
            if capacity and filled is not None and capacity in node.shape and filled < capacity:
                elements = elements // capacity * filled
            elif capacity and filled is None and capacity in node.shape:
                raise ArchclassError(
                    f"{path}: a preallocated buffer of {capacity} positions whose filled length is not known; "
                    "probe with a dynamic cache, or tell the probe how far it is filled"
                )
            key = (node.untyped_storage().data_ptr(), str(node.device))
            if node.untyped_storage().data_ptr() == 0:
                key = (id(node), str(node.device))
            previous = largest.get(key)
            if previous is None or elements > previous[0]:
                largest[key] = (elements, elements * node.element_size(), path)
            continue
        own_capacity = getattr(node, "max_cache_len", None)
        if not isinstance(own_capacity, int) or own_capacity <= 0:
            own_capacity = capacity
        elif filled is not None:
            result.notes.append(
                f"{type(node).__name__} preallocates {own_capacity} positions; counted the {filled} filled"
            )
        for suffix, child in reversed(_children(node)):
            stack.append((path + suffix, child, depth + 1, own_capacity))
    for elements, size, path in largest.values():
        result.scalars += elements
        result.bytes += size
        result.by_path[path] = result.by_path.get(path, 0) + elements
    return result
