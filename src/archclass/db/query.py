"""Typed filters become SQLAlchemy expressions; user text only ever travels as bound parameters.

"All compact and efficient models" is ``Filters(efficient=True, compact=True)``, or on the command line
``archclass query --efficient --compact``.

One record shape serves ``query --json`` and ``export --format json``: :data:`RECORD_FIELDS`, in that
order (:func:`run_query`); an export record adds :data:`EXTRA_FIELDS` (:func:`full_records`). With
``Filters(reading="recipe")`` the flags, placement, position and growths of an entry that has a recipe
are those of its second reading (knobs grown with T as its paper says), and ``reading`` says so; an
entry without a recipe keeps its fixed reading.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archclass.filters import READINGS, SORT_KEYS, Filters

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.engine import Connection

    from archclass.db.ready import Notify

__all__ = ["RECORD_FIELDS", "SORT_KEYS", "Filters", "casefold", "full_records", "query_database", "run_query"]

#: Longest text a filter may hold (a search, a family, a tag): longer ones are refused, not run.
MAX_FILTER_CHARS = 200
#: Largest integer a year or limit may be: both backends store 64-bit integers.
MAX_INTEGER = 2**63 - 1

#: The fields of every record, in order.
RECORD_FIELDS = (
    "id",
    "name",
    "title",
    "authors",
    "year",
    "family",
    "tags",
    "placement",
    "efficient",
    "compact",
    "recall",
    "hybrid",
    "per_step_compute",
    "state_size",
    "compute_growth",
    "state_growth",
    "confidence",
    "position",
    "max_pairs",
    "reading",
    "recipe_placement",
    "arxiv",
    "url",
)
#: What an export record has besides RECORD_FIELDS.
EXTRA_FIELDS = (
    "aliases",
    "summary",
    "state_scalars",
    "retrieval",
    "precision",
    "claims",
    "components",
    "hyperparameters",
    "evidence",
    "notes",
    "reference",
    "bound",
    "rules",
)
#: Classification columns that the recipe reading replaces where an entry has one.
_READ = (
    "efficient",
    "compact",
    "recall",
    "placement",
    "position_e",
    "position_c",
    "position_r",
    "compute_growth",
    "state_growth",
)


def casefold(expression: Any) -> Any:
    """Case-folded text in SQL: Python's str.casefold on SQLite (registered by archclass.db.engine; SQLite's
    own lower() folds ASCII only), lower() elsewhere."""
    return _casefold_class()(expression)


_CASEFOLD: Any = None


def _casefold_class() -> Any:
    global _CASEFOLD
    if _CASEFOLD is None:
        from sqlalchemy import String
        from sqlalchemy.ext.compiler import compiles
        from sqlalchemy.sql.functions import FunctionElement

        class Casefold(FunctionElement[str]):
            type = String()
            inherit_cache = True
            name = "casefold"

        @compiles(Casefold)
        def _default(element: Any, compiler: Any, **kw: Any) -> str:
            return f"lower({compiler.process(element.clauses, **kw)})"

        @compiles(Casefold, "sqlite")
        def _sqlite(element: Any, compiler: Any, **kw: Any) -> str:
            return f"archclass_casefold({compiler.process(element.clauses, **kw)})"

        _CASEFOLD = Casefold
    return _CASEFOLD


def check_filters(filters: Filters) -> None:
    """Refuse what no database could answer sensibly: unknown sort keys, readings or tags, years and limits
    beyond 64 bits, texts longer than MAX_FILTER_CHARS or holding NUL (PostgreSQL's text cannot)."""
    from archclass.vocabulary import TAGS

    if filters.sort not in SORT_KEYS:
        raise ValueError(f"cannot sort by {filters.sort!r}; choose from {', '.join(SORT_KEYS)}")
    if filters.reading not in READINGS:
        raise ValueError(f"unknown reading {filters.reading!r}; choose from {', '.join(READINGS)}")
    for name in ("year_from", "year_to", "limit"):
        value = getattr(filters, name)
        if value is not None and not -MAX_INTEGER <= value <= MAX_INTEGER:
            raise ValueError(f"{name} {value} is out of range")
    texts = [filters.search or "", *filters.families, *filters.placements, *filters.ids, *filters.tags]
    for text in texts:
        if len(text) > MAX_FILTER_CHARS or "\x00" in text:
            raise ValueError(f"a filter text is longer than {MAX_FILTER_CHARS} characters or holds NUL")
    unknown = [tag for tag in filters.tags if tag not in TAGS]
    if unknown:
        raise ValueError(f"unknown tag {unknown[0]!r}; choose from {', '.join(TAGS)}")


def _reading(filters: Filters) -> dict[str, Any]:
    """The classification columns of the reading FILTERS asks for, by name."""
    from sqlalchemy import func

    from archclass.db.models import ClassificationRow, table

    verdict = table(ClassificationRow)
    if filters.reading == "fixed":
        return {name: verdict.c[name] for name in _READ}
    return {name: func.coalesce(verdict.c[f"recipe_{name}"], verdict.c[name]) for name in _READ}


def build_select(filters: Filters) -> Select[Any]:
    """The SELECT for FILTERS: architectures joined with their classification, one row per record."""
    from sqlalchemy import and_, case, exists, false, literal, or_, select, true

    from archclass.db.models import AliasRow, ArchitectureRow, ArchitectureTagRow, ClassificationRow, table

    check_filters(filters)
    arch, verdict = table(ArchitectureRow), table(ClassificationRow)
    aliases, tags = table(AliasRow), table(ArchitectureTagRow)
    read = _reading(filters)
    reading: Any = literal("fixed")
    if filters.reading == "recipe":
        reading = case((verdict.c.recipe_placement.is_not(None), literal("recipe")), else_=literal("fixed"))
    columns = [
        *(arch.c[name] for name in ("id", "name", "title", "authors", "year", "family")),
        *(read[name].label(name) for name in _READ),
        *(arch.c[name] for name in ("hybrid", "per_step_compute", "state_size", "confidence", "arxiv", "url")),
        verdict.c.max_pairs,
        verdict.c.recipe_placement,
        reading.label("reading"),
    ]
    statement = select(*columns).select_from(arch.join(verdict, verdict.c.arch_id == arch.c.id))
    for column, wanted in (
        (read["efficient"], filters.efficient),
        (read["compact"], filters.compact),
        (read["recall"], filters.recall),
        (arch.c.hybrid, filters.hybrid),
    ):
        if wanted is not None:
            statement = statement.where(column == (true() if wanted else false()))
    if filters.placements:
        statement = statement.where(read["placement"].in_(list(filters.placements)))
    if filters.families:
        statement = statement.where(arch.c.family.in_(list(filters.families)))
    if filters.ids:
        statement = statement.where(arch.c.id.in_(list(filters.ids)))
    for tag in dict.fromkeys(filters.tags):
        statement = statement.where(exists().where(and_(tags.c.arch_id == arch.c.id, tags.c.tag == tag)))
    if filters.year_from is not None:
        statement = statement.where(arch.c.year >= filters.year_from)
    if filters.year_to is not None:
        statement = statement.where(arch.c.year <= filters.year_to)
    if filters.search:
        needle = filters.search.casefold()
        alias_match = (
            select(aliases.c.arch_id)
            .where(casefold(aliases.c.alias).contains(needle, autoescape=True))
            .scalar_subquery()
        )
        statement = statement.where(
            or_(
                casefold(arch.c.id).contains(needle, autoescape=True),
                casefold(arch.c.name).contains(needle, autoescape=True),
                arch.c.id.in_(alias_match),
            )
        )
    sort_column = read["placement"] if filters.sort == "placement" else arch.c[filters.sort]
    order = sort_column.desc() if filters.descending else sort_column.asc()
    statement = statement.order_by(order, arch.c.id.desc() if filters.descending else arch.c.id.asc())
    if filters.limit is not None:
        statement = statement.limit(filters.limit)
    return statement


def run_query(connection: Connection, filters: Filters) -> list[dict[str, Any]]:
    """The records matching FILTERS: RECORD_FIELDS in order, position as [E, C, R], tags as a list."""
    rows = [dict(row._mapping) for row in connection.execute(build_select(filters))]
    tags = _grouped_tags(connection, [row["id"] for row in rows])
    records = []
    for row in rows:
        row["position"] = [row.pop("position_e"), row.pop("position_c"), row.pop("position_r")]
        row["tags"] = tags.get(row["id"], [])
        for flag in ("efficient", "compact", "recall", "hybrid"):
            row[flag] = bool(row[flag])
        records.append({name: row[name] for name in RECORD_FIELDS})
    return records


def full_records(connection: Connection, filters: Filters) -> list[dict[str, Any]]:
    """Everything the database knows about each matching entry (what ``export --format json`` writes):
    the query record, then EXTRA_FIELDS (aliases, components, the bound, the rules that fired, ...)."""
    from sqlalchemy import select

    from archclass.db.models import AliasRow, ArchitectureRow, ClassificationRow, HybridComponentRow, RuleFiringRow
    from archclass.db.models import table as table_of

    records = run_query(connection, filters)
    ids = [record["id"] for record in records]

    def by_arch(model: Any, key: str, order: str | None = None) -> dict[str, list[dict[str, Any]]]:
        table = table_of(model)
        statement = select(table).order_by(table.c[order]) if order else select(table)
        grouped: dict[str, list[dict[str, Any]]] = {}
        for chunk in _chunks(ids):
            for row in connection.execute(statement.where(table.c[key].in_(chunk))):
                grouped.setdefault(row._mapping[key], []).append(dict(row._mapping))
        return grouped

    entries = by_arch(ArchitectureRow, "id")
    verdicts = by_arch(ClassificationRow, "arch_id")
    alias_map = by_arch(AliasRow, "arch_id", "alias")
    component_map = by_arch(HybridComponentRow, "hybrid_id", "ordinal")
    firing_map = by_arch(RuleFiringRow, "arch_id", "ordinal")
    for record in records:
        arch_id = record["id"]
        entry, verdict = entries[arch_id][0], verdicts[arch_id][0]
        components = component_map.get(arch_id)
        record.update(
            aliases=[a["alias"] for a in alias_map.get(arch_id, [])],
            summary=entry["summary"],
            **{key: entry[key] for key in ("state_scalars", "retrieval", "precision", "claims")},
            components=[{"arch": c["component_id"], "fraction": c["fraction"]} for c in components]
            if components
            else None,
            hyperparameters=entry["hyperparameters"] or {},
            **{key: entry[key] for key in ("evidence", "notes", "reference")},
            bound=verdict["bound"],
            rules=[
                {
                    "rule": f["rule"],
                    "property": f["property"],
                    "value": bool(f["value"]),
                    "explanation": f["explanation"],
                }
                for f in firing_map.get(arch_id, [])
            ],
        )
    return records


def query_database(
    filters: Filters,
    *,
    db: str | None = None,
    registry: Path | str | None = None,
    full: bool = False,
    notify: Notify | None = None,
) -> list[dict[str, Any]]:
    """``archclass query`` (and, with ``full``, ``export``): the records matching FILTERS in the database
    ``db``, made ready first (created, upgraded, synced from ``registry``)."""
    from archclass.db.engine import read_transaction
    from archclass.db.ready import ready_database

    check_filters(filters)
    with ready_database(db, registry, notify=notify) as engine, read_transaction(engine) as connection:
        return full_records(connection, filters) if full else run_query(connection, filters)


def _grouped_tags(connection: Connection, ids: list[str]) -> dict[str, list[str]]:
    from sqlalchemy import select

    from archclass.db.models import ArchitectureTagRow, table

    tags = table(ArchitectureTagRow)
    grouped: dict[str, list[str]] = {}
    for chunk in _chunks(ids):
        statement = select(tags.c.arch_id, tags.c.tag).where(tags.c.arch_id.in_(chunk)).order_by(tags.c.tag)
        for arch_id, tag in connection.execute(statement):
            grouped.setdefault(arch_id, []).append(tag)
    return grouped


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
