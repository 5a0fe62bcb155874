"""Classify an architecture from Python in one call: ``archclass.classify("retnet")``."""

from __future__ import annotations

import functools
from pathlib import Path

from archclass.classifier import BoundSettings, Classification
from archclass.registry import Registry, load_registry
from archclass.schema import Architecture


def default_registry() -> Registry:
    """The registry at $ARCHCLASS_REGISTRY, else the bundled one; loaded once (reloaded if the file changes).

    Entries are checked as they are classified (``full_check=False``); ``archclass validate`` checks all.
    """
    from archclass.paths import registry_path

    path = registry_path()
    try:
        status = path.stat()
        version = (status.st_mtime_ns, status.st_size)
    except OSError:
        version = (0, 0)  # load_registry reports the missing file
    return _load(str(path), version)


@functools.lru_cache(maxsize=4)
def _load(path: str, version: tuple[int, int]) -> Registry:
    return load_registry(Path(path), full_check=False)


def classify(
    name_or_entry: str | Architecture,
    registry: Registry | None = None,
    settings: BoundSettings | None = None,
) -> Classification:
    """Place an architecture on the Efficiency-Compactness-Recall triangle.

    NAME_OR_ENTRY is a name as people write it (id, alias, the paper's name, or a Hugging Face
    model type, e.g. "retnet", "Retentive Network", "qwen3_next") or an Architecture built in Python
    (a hybrid's components must be in the registry). REGISTRY defaults to :func:`default_registry`.
    SETTINGS gives the values the recall bound is evaluated at, and values for the entry's own
    hyperparameters in ``overrides``.

    Raises (all ArchclassError): UnknownArchitectureError for a name no entry answers to (with close
    suggestions), SettingsError for an override of a symbol the entry does not declare, RegistryError
    for an entry that fails the registry's checks.
    """
    registry = registry if registry is not None else default_registry()
    if isinstance(name_or_entry, Architecture):
        return registry.classify_entry(name_or_entry, settings)
    return registry.classification(name_or_entry, settings)
