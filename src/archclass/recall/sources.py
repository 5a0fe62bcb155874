"""Which runs `archclass recall-report` leaves out of the files it merges, as its --exclude items say."""

from __future__ import annotations

from collections.abc import Iterable

from archclass.keyvalue import KeyValueError


def exclusions(items: Iterable[str], option: str = "--exclude") -> list[tuple[str, str]]:
    """ARCH@SOURCE-FILE-NAME items as (architecture, file name) pairs; a malformed item names OPTION."""
    pairs = []
    for item in items:
        arch, sep, source = item.partition("@")
        if not sep or not arch or not source:
            raise KeyValueError(f"{item!r} is not ARCH@SOURCE-FILE-NAME", option)
        pairs.append((arch, source))
    return pairs
