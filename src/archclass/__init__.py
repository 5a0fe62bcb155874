"""archclass: the Efficiency-Compactness-Recall classifier for long-context sequence architectures.

The Python API, imported on first use so that ``import archclass`` stays cheap::

    import archclass

    result = archclass.classify("retnet")                 # a Classification
    result.placement, result.efficient, result.bound["max_pairs"]
    archclass.classify("Mamba 2", settings=archclass.BoundSettings(d=2048, layers=48))
    archclass.classify("sliding-window-attention", settings=archclass.BoundSettings(overrides={"w": 4096}))

    registry = archclass.load_registry()                  # the bundled registry, fully checked
    registry.get("qwen3_next").name                       # any name people write finds its entry
    archclass.recall_bound(1e6, 16, 32000, 0.9).max_pairs # K <= n p / (A log2 V - 1)

Errors are ArchclassError subclasses whose message is one printable line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "classify": "archclass.api",
    "default_registry": "archclass.api",
    "load_registry": "archclass.registry",
    "Registry": "archclass.registry",
    "UnknownArchitectureError": "archclass.registry",
    "Classification": "archclass.classifier",
    "BoundSettings": "archclass.classifier",
    "SettingsError": "archclass.classifier",
    "recall_bound": "archclass.bound",
    "RecallBound": "archclass.bound",
    "Architecture": "archclass.schema",
    "ArchclassError": "archclass.errors",
    "RegistryError": "archclass.errors",
}

__all__ = [
    "ArchclassError",
    "Architecture",
    "BoundSettings",
    "Classification",
    "RecallBound",
    "Registry",
    "RegistryError",
    "SettingsError",
    "UnknownArchitectureError",
    "__version__",
    "classify",
    "default_registry",
    "load_registry",
    "recall_bound",
]

if TYPE_CHECKING:
    from archclass.api import classify, default_registry
    from archclass.bound import RecallBound, recall_bound
    from archclass.classifier import BoundSettings, Classification, SettingsError
    from archclass.errors import ArchclassError, RegistryError
    from archclass.registry import Registry, UnknownArchitectureError, load_registry
    from archclass.schema import Architecture


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archclass' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
