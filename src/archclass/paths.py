"""Where archclass finds its data: the source checkout first, then the copy shipped in the wheel."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parents[1]  # the checkout, when running from src/ (editable install)
SHIPPED = PACKAGE_DIR / "_data"


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return candidates[0]


def registry_path() -> Path:
    """The registry file: $ARCHCLASS_REGISTRY, else the checkout's data/, else the shipped copy."""
    override = os.environ.get("ARCHCLASS_REGISTRY")
    if override:
        return Path(override)
    return _first_existing(SOURCE_ROOT / "data" / "architectures.yaml", SHIPPED / "architectures.yaml")


def rules_path() -> Path:
    return _first_existing(SOURCE_ROOT / "taxonomy" / "rules.yaml", SHIPPED / "rules.yaml")


def taxonomy_dir() -> Path:
    return SOURCE_ROOT / "taxonomy"


def migrations_dir() -> Path:
    return _first_existing(SOURCE_ROOT / "migrations", SHIPPED / "migrations")
