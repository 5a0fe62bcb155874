"""Typed filters become SQLAlchemy expressions; user text only ever travels as bound parameters.

"All compact and efficient models" is ``Filters(efficient=True, compact=True)``, or on the command line
``archclass query --efficient --compact``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.engine import Connection

from archclass.filters import SORT_KEYS, Filters

__all__ = ["SORT_KEYS", "Filters", "casefold", "full_records", "run_query"]


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


def _columns() -> list[Any]:
    from archclass.db.models import metadata

    arch = metadata.tables["architectures"]
    cls = metadata.tables["classifications"]
    return [
        arch.c.id,
        arch.c.name,
        arch.c.year,
        arch.c.family,
        cls.c.placement,
        cls.c.efficient,
        cls.c.compact,
        cls.c.recall,
        arch.c.hybrid,
        arch.c.arxiv,
        arch.c.url,
        cls.c.compute_growth,
        cls.c.state_growth,
        cls.c.position_e,
        cls.c.position_c,
        cls.c.position_r,
        cls.c.max_pairs,
    ]


def build_select(filters: Filters) -> Select[Any]:
    """The SELECT for FILTERS: architectures joined with their classification."""
    from sqlalchemy import false, or_, select, true

    from archclass.db.models import metadata

    arch = metadata.tables["architectures"]
    cls = metadata.tables["classifications"]
    aliases = metadata.tables["aliases"]
    statement = select(*_columns()).select_from(arch.join(cls, cls.c.arch_id == arch.c.id))
    for column, wanted in (
        (cls.c.efficient, filters.efficient),
        (cls.c.compact, filters.compact),
        (cls.c.recall, filters.recall),
        (arch.c.hybrid, filters.hybrid),
    ):
        if wanted is not None:
            statement = statement.where(column == (true() if wanted else false()))
    if filters.placements:
        statement = statement.where(cls.c.placement.in_(list(filters.placements)))
    if filters.families:
        statement = statement.where(arch.c.family.in_(list(filters.families)))
    if filters.ids:
        statement = statement.where(arch.c.id.in_(list(filters.ids)))
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
    if filters.sort not in SORT_KEYS:
        raise ValueError(f"cannot sort by {filters.sort!r}; choose from {', '.join(SORT_KEYS)}")
    sort_column = {
        "id": arch.c.id,
        "name": arch.c.name,
        "year": arch.c.year,
        "family": arch.c.family,
        "placement": cls.c.placement,
    }[filters.sort]
    order = sort_column.desc() if filters.descending else sort_column.asc()
    statement = statement.order_by(order, arch.c.id.desc() if filters.descending else arch.c.id.asc())
    if filters.limit is not None:
        statement = statement.limit(filters.limit)
    return statement


def _record(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    for key in ("efficient", "compact", "recall", "hybrid"):
        data[key] = bool(data[key])
    data["position"] = [data.pop("position_e"), data.pop("position_c"), data.pop("position_r")]
    return data


def run_query(connection: Connection, filters: Filters) -> list[dict[str, Any]]:
    """Rows matching FILTERS as plain dicts: id, name, year, family, placement, efficient, compact,
    recall, hybrid, arxiv, url, compute_growth, state_growth, position [E, C, R], max_pairs."""
    return [_record(row) for row in connection.execute(build_select(filters))]


def full_records(connection: Connection, filters: Filters) -> list[dict[str, Any]]:
    """Everything the database knows about each matching entry (what ``export --format json`` writes):
    the registry fields, aliases, components, and the classification with its rule firings."""
    from sqlalchemy import select

    from archclass.db.models import metadata

    ids = [row["id"] for row in run_query(connection, filters)]
    if not ids:
        return []
    arch = metadata.tables["architectures"]
    cls = metadata.tables["classifications"]
    aliases = metadata.tables["aliases"]
    components = metadata.tables["hybrid_components"]
    firings = metadata.tables["rule_firings"]

    def by_arch(statement: Any, key: str) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for chunk in _chunks(ids):
            for row in connection.execute(statement.where(statement.selected_columns[key].in_(chunk))):
                grouped.setdefault(row._mapping[key], []).append(dict(row._mapping))
        return grouped

    entries = {row["id"]: row for rows in by_arch(select(arch), "id").values() for row in rows}
    verdicts = {row["arch_id"]: row for rows in by_arch(select(cls), "arch_id").values() for row in rows}
    alias_map = by_arch(select(aliases).order_by(aliases.c.alias), "arch_id")
    component_map = by_arch(select(components).order_by(components.c.ordinal), "hybrid_id")
    firing_map = by_arch(select(firings).order_by(firings.c.ordinal), "arch_id")

    records = []
    for arch_id in ids:
        entry = entries[arch_id]
        verdict = verdicts[arch_id]
        record: dict[str, Any] = {
            "id": arch_id,
            "name": entry["name"],
            "aliases": [a["alias"] for a in alias_map.get(arch_id, [])],
            "year": entry["year"],
            "arxiv": entry["arxiv"],
            "url": entry["url"],
            "family": entry["family"],
            "summary": entry["summary"],
        }
        if entry["hybrid"]:
            record["components"] = [
                {"arch": c["component_id"], "fraction": c["fraction"]} for c in component_map.get(arch_id, [])
            ]
        else:
            record["inference"] = {
                key: entry[key]
                for key in ("per_step_compute", "state_size", "state_scalars", "retrieval", "precision", "claims")
            }
        record.update(
            hyperparameters=entry["hyperparameters"] or {},
            evidence=entry["evidence"],
            confidence=entry["confidence"],
            notes=entry["notes"],
            reference=entry["reference"],
            classification={
                "efficient": bool(verdict["efficient"]),
                "compact": bool(verdict["compact"]),
                "recall": bool(verdict["recall"]),
                "placement": verdict["placement"],
                "position": [verdict["position_e"], verdict["position_c"], verdict["position_r"]],
                "compute_growth": verdict["compute_growth"],
                "state_growth": verdict["state_growth"],
                "hybrid": bool(verdict["hybrid"]),
                "bound": verdict["bound"],
                "rules": [
                    {
                        "rule": f["rule"],
                        "property": f["property"],
                        "value": bool(f["value"]),
                        "explanation": f["explanation"],
                    }
                    for f in firing_map.get(arch_id, [])
                ],
            },
        )
        records.append(record)
    return records


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
