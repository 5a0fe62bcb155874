"""What to select from the registry: one typed filter shared by `query` (SQL) and `list` (in memory)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archclass.classifier import Classification
    from archclass.registry import Registry
    from archclass.schema import Architecture

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


def select_rows(registry: Registry, filters: Filters) -> list[dict[str, Any]]:
    """The registry's entries that FILTERS selects, classified, sorted and cut to the limit, as rows of the
    same shape as `archclass query` returns from the database (`list` is `query` without a database)."""
    from archclass.classifier import classify_entry

    if filters.sort not in SORT_KEYS:
        raise ValueError(f"cannot sort by {filters.sort!r}; choose from {', '.join(SORT_KEYS)}")
    rows = []
    for entry in registry:
        result = classify_entry(entry, registry)
        if _selects(filters, entry, result):
            rows.append(_row(entry, result))
    rows.sort(key=lambda row: (row[filters.sort], row["id"]), reverse=filters.descending)
    return rows if filters.limit is None else rows[: filters.limit]


def _selects(filters: Filters, entry: Architecture, result: Classification) -> bool:
    wanted_flags = (
        (filters.efficient, result.efficient),
        (filters.compact, result.compact),
        (filters.recall, result.recall),
        (filters.hybrid, bool(entry.components)),
    )
    if any(wanted is not None and wanted != actual for wanted, actual in wanted_flags):
        return False
    if filters.year_from is not None and entry.year < filters.year_from:
        return False
    if filters.year_to is not None and entry.year > filters.year_to:
        return False
    if filters.search:
        needle = filters.search.casefold()
        if not any(needle in name.casefold() for name in (entry.id, entry.name, *entry.aliases)):
            return False
    return (
        (not filters.placements or result.placement in filters.placements)
        and (not filters.families or entry.family in filters.families)
        and (not filters.ids or entry.id in filters.ids)
        and set(filters.tags) <= set(entry.tags)
    )


def _row(entry: Architecture, result: Classification) -> dict[str, Any]:
    """The record `archclass query` gives for the entry, field for field."""
    bound = result.bound or {}
    inference = entry.inference
    recipe = result.recipe
    return {
        "id": entry.id,
        "name": entry.name,
        "title": entry.title,
        "authors": list(entry.authors) if entry.authors else None,
        "year": entry.year,
        "family": str(entry.family),
        "tags": [str(tag) for tag in entry.tags],
        "placement": str(result.placement),
        "efficient": result.efficient,
        "compact": result.compact,
        "recall": result.recall,
        "hybrid": bool(entry.components),
        "per_step_compute": inference.per_step_compute if inference else None,
        "state_size": inference.state_size if inference else None,
        "compute_growth": result.compute_growth,
        "state_growth": result.state_growth,
        "confidence": entry.confidence,
        "position": list(result.position),
        "max_pairs": bound.get("max_pairs") if bound.get("evaluated") else None,
        "reading": "fixed",
        "recipe_placement": str(recipe.placement) if recipe is not None else None,
        "arxiv": entry.arxiv,
        "url": entry.url,
    }
