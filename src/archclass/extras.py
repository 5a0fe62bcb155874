"""Which optional extra of archclass installs a package, read from the package's own metadata (the
extras of pyproject.toml), so that a missing dependency is answered with the one line that installs it."""

from __future__ import annotations

import re
from importlib import metadata


def extra_providing(module: str) -> str | None:
    """The smallest optional extra of archclass that installs the package of MODULE (e.g. 'torch.nn'),
    or None when no extra does (or archclass is not installed, so there is no metadata to read)."""
    package = _normalised(module.partition(".")[0])
    sizes: dict[str, int] = {}
    providing: set[str] = set()
    for extra, requirement in _optional_requirements():
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        if name is None or extra == "all":
            continue
        sizes[extra] = sizes.get(extra, 0) + 1
        if _normalised(name.group(0)) == package:
            providing.add(extra)
    return min(providing, key=lambda extra: (sizes[extra], extra)) if providing else None


def install_hint(module: str) -> str | None:
    """'this needs torch, which is not installed; install it with: pip install 'archclass[probe]'', or None."""
    extra = extra_providing(module)
    package = module.partition(".")[0]
    if extra is None:
        return None
    return f"this needs {package}, which is not installed; install it with: pip install 'archclass[{extra}]'"


def _normalised(name: str) -> str:
    return name.replace("_", "-").casefold()


def _optional_requirements() -> list[tuple[str, str]]:
    """(extra, requirement) pairs from the installed package's metadata."""
    try:
        requires = metadata.requires("archclass") or []
    except metadata.PackageNotFoundError:
        return []
    pairs = []
    for requirement in requires:
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", requirement)
        if extra:
            pairs.append((extra.group(1), requirement))
    return pairs
