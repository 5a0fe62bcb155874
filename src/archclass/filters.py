"""What to select from the registry: one typed filter shared by `query` (SQL) and `list` (in memory)."""

from __future__ import annotations

from dataclasses import dataclass

SORT_KEYS = ("id", "name", "year", "family", "placement")
READINGS = ("fixed", "recipe")


@dataclass(frozen=True)
class Filters:
    """What to select. None means "either"; empty tuples mean "any"."""

    efficient: bool | None = None
    compact: bool | None = None
    recall: bool | None = None
    hybrid: bool | None = None
    placements: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    search: str | None = None  # case-insensitive substring of id, name or an alias
    ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # every tag must be present
    reading: str = "fixed"  # 'fixed' knobs, or the paper's 'recipe' that grows knobs with T
    sort: str = "id"
    descending: bool = False
    limit: int | None = None
