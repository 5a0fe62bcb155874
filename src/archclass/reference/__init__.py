"""Small PyTorch reference implementations of each architecture family.

One file per family. Each file lists its models in a module-level ``REFERENCES`` tuple of
:class:`ReferenceSpec`; :func:`catalog` discovers them, so adding a family is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from archclass.sizes import ModelSize


@dataclass(frozen=True)
class ReferenceSpec:
    """How to build and check one reference implementation."""

    name: str
    """Reference id, shown by `archclass reference list` and used by `probe --arch`."""
    arch_id: str
    """Registry id of the architecture this implements."""
    factory: Callable[..., nn.Module]
    """The class (or a function) called as factory(d_model=..., **kwargs)."""
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Hyperparameters for probing; chosen so every window and chunk is small against probe lengths."""
    test_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Tiny hyperparameters for the unit tests (window/chunk sizes that do not divide test lengths)."""
    state_scalars: Callable[[int, int, Mapping[str, Any]], int] | None = None
    """Exact state scalars per sequence after T tokens: f(T, d_model, kwargs)."""
    registry_symbols: Callable[[int, Mapping[str, Any]], dict[str, float]] | None = None
    """The value of each symbol of the registry entry's `state_scalars` formula at this reference's
    settings, f(d_model, kwargs), so the probe can evaluate the entry's formula and compare it with the
    measured state. Where the reference leaves out a part the paper's layer has (a short convolution),
    the symbol that sizes it takes the value of what the reference really keeps. A hybrid's entry has
    no formula of its own: its symbols are named "<component id>.<symbol>", and "<component id>.layers"
    counts that component's layers."""
    at_size: Callable[[ModelSize], Mapping[str, Any]] | None = None
    """The hyperparameters at a named realistic size (`probe --size llama-3-8b`): heads, kv heads,
    latent, state and window sizes as that model has them, or as this family would have them at its
    width. `kwargs` stay the hyperparameters of the `tiny` size."""
    size_knob: str = "d_model"
    """The hyperparameter that sets the state's size when families are matched at equal state
    (`archclass recall --state-bytes`): a window, a state dimension, a feature count, or the width."""


def _iter_modules() -> list[str]:
    package = importlib.import_module(__name__)
    return sorted(info.name for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_"))


def catalog() -> dict[str, ReferenceSpec]:
    """Every reference implementation, by reference name."""
    specs: dict[str, ReferenceSpec] = {}
    for module_name in _iter_modules():
        module = importlib.import_module(f"{__name__}.{module_name}")
        for spec in getattr(module, "REFERENCES", ()):
            if spec.name in specs:
                raise RuntimeError(f"reference {spec.name!r} is defined twice")
            specs[spec.name] = spec
    return specs


def for_arch(arch_id: str) -> ReferenceSpec | None:
    """The reference implementation registered for a registry id, if any."""
    for spec in catalog().values():
        if spec.arch_id == arch_id or spec.name == arch_id:
            return spec
    return None


def build(spec: ReferenceSpec, d_model: int, *, test: bool = False, **overrides: Any) -> nn.Module:
    kwargs = {**(spec.test_kwargs if test else spec.kwargs), **overrides}
    return spec.factory(d_model=d_model, **kwargs)


def kwargs_at(spec: ReferenceSpec, size: ModelSize) -> dict[str, Any]:
    """The reference's hyperparameters at a named size: `kwargs` at tiny, its at_size hook otherwise."""
    if size.name == "tiny" or spec.at_size is None:
        return dict(spec.kwargs)
    return dict(spec.at_size(size))


def attention_heads(size: ModelSize) -> int:
    """Query heads of attention at this size: the model's own where its heads tile the width, else
    heads of 128 (a Mamba model has no attention heads to copy)."""
    return size.heads if size.heads * size.head_dim == size.d and size.head_dim <= 256 else size.d // 128


def kv_heads(size: ModelSize) -> int:
    """Key-value heads of grouped-query attention at this size: the model's own, else a quarter of the
    query heads (Llama-3's ratio)."""
    return size.kv_heads or max(2, attention_heads(size) // 4)


def describe(d_model: int = 64) -> list[dict[str, Any]]:
    """Every reference with its registry id, parameter count at d_model, hyperparameters and whether it
    has a parallel prefill, sorted by name."""
    rows = []
    for name, spec in sorted(catalog().items()):
        model = build(spec, d_model)
        rows.append(
            {
                "name": name,
                "arch_id": spec.arch_id,
                "parameters": sum(p.numel() for p in model.parameters()),
                "kwargs": dict(spec.kwargs),
                "prefill": callable(getattr(model, "prefill", None)),
            }
        )
    return rows
