"""The scalars a model's cache holds, split by where they sit, through the one state walker of osp.py.

transformers and fla keep decode state in Cache objects (per-layer keys and values, conv and recurrent
states); :func:`archclass.osp.state_leaves` finds their tensors generically and
:func:`archclass.osp.storage_size` counts each storage once. This adds the split by path that the
per-layer-kind breakdown of a hybrid needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archclass.osp import state_leaves, storage_size


@dataclass
class StateCount:
    scalars: int = 0
    bytes: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def count_state(state: Any) -> StateCount:
    """Scalars and bytes of every tensor reachable from STATE (each storage once), and the scalars by path."""
    from torch import Tensor

    tensors = [(path, leaf) for path, leaf in state_leaves(state) if isinstance(leaf, Tensor)]
    scalars, nbytes = storage_size([tensor for _, tensor in tensors])
    by_path: dict[str, int] = {}
    seen: set[int] = set()
    for path, tensor in tensors:
        if id(tensor) not in seen:
            seen.add(id(tensor))
            by_path[path] = tensor.numel()
    return StateCount(scalars, nbytes, by_path)
