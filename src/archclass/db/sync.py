"""Sync the database from the registry: validate everything first, then replace the rows in ONE transaction.

Order of work in :func:`sync_registry`:

1. read the registry file once (its bytes are what is hashed), validate it fully (schema, complexity
   strings, hybrids, the theorem: :class:`archclass.errors.RegistryError` on any problem) and classify
   every entry. Nothing has touched the database yet, so a bad entry changes nothing.
2. open a write transaction (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), delete
   the registry-derived rows and insert the new ones, update ``meta``, commit. Any failure rolls the
   whole transaction back and the previous data stays as it was.

Two syncs at once queue on the write lock; each writes a complete registry, so the result is always
one of them, never a mix. :func:`ensure_database` is what every command calls first: create or
upgrade the schema, and re-sync when the registry, the rules or archclass itself changed since the
last sync (hashes kept in ``meta``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archclass.db.values import finite, jsonable
from archclass.errors import Issue, RegistryError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from archclass.classifier import Classification
    from archclass.db.models import Base
    from archclass.registry import Registry
    from archclass.schema import Architecture

#: meta keys whose values decide whether the database is in step with the registry.
SYNC_KEYS = ("registry_sha256", "rules_sha256", "archclass_version")
#: Rows per INSERT statement batch.
BATCH = 2000


@dataclass
class RegistrySource:
    """The registry as read for one sync: its text, and the hashes that identify it."""

    path: Path
    name: str
    text: str
    registry_sha256: str
    rules_sha256: str
    archclass_version: str

    @property
    def shown_path(self) -> str:
        """The registry file as the database records it: relative to the archclass checkout when it is in
        one, else its name alone (a database is shared and published; a local absolute path is not)."""
        from archclass.paths import SOURCE_ROOT

        try:
            return self.path.relative_to(SOURCE_ROOT).as_posix()
        except ValueError:
            return self.path.name

    @property
    def fingerprint(self) -> dict[str, str]:
        return {
            "registry_sha256": self.registry_sha256,
            "rules_sha256": self.rules_sha256,
            "archclass_version": self.archclass_version,
        }


@dataclass
class SyncResult:
    url: str
    registry: str
    registry_sha256: str
    previous_registry_sha256: str | None
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: bool = False  # another process had already synced the same registry
    results: dict[str, int] | None = None  # runs loaded by `sync --results`, by results file

    @property
    def changed(self) -> bool:
        return self.previous_registry_sha256 != self.registry_sha256

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.url,
            "registry": self.registry,
            "registry_sha256": self.registry_sha256,
            "previous_registry_sha256": self.previous_registry_sha256,
            "changed": self.changed,
            "entries": self.counts.get("architectures", 0),
            "rows": self.counts,
            "results": self.results,
            "seconds": round(self.seconds, 4),
        }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_source(path: Path | str | None = None) -> RegistrySource:
    """Read the registry file (and the rules) once; problems reading it are RegistryErrors."""
    from archclass import __version__
    from archclass.paths import registry_path, rules_path
    from archclass.yamlio import MAX_BYTES

    given = Path(path) if path is not None else registry_path()
    name = str(given)  # messages name the file as the user gave it; meta stores the absolute path
    file_path = given.absolute()
    try:
        data = file_path.read_bytes()
    except OSError as error:
        raise RegistryError([Issue(name, f"cannot read: {error.strerror}")]) from None
    if len(data) > MAX_BYTES:
        raise RegistryError([Issue(name, f"file is larger than the {MAX_BYTES // 2**20} MiB limit")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RegistryError([Issue(name, "file is not UTF-8 text")]) from None
    try:
        rules = rules_path().read_bytes()
    except OSError:
        rules = b""
    return RegistrySource(file_path, name, text, _sha256(data), _sha256(rules), __version__)


def load_source(source: RegistrySource) -> Registry:
    """Validate the registry text fully; raise RegistryError listing every problem."""
    from archclass.registry import registry_from_text

    registry = registry_from_text(source.text, source.name)
    registry.path = source.path
    return registry


def registry_rows(registry: Registry) -> dict[type[Base], list[dict[str, Any]]]:
    """Every registry-derived row, by table, parents before children."""
    from archclass.db.models import REGISTRY_TABLES

    rows: dict[type[Base], list[dict[str, Any]]] = {model: [] for model in REGISTRY_TABLES}
    for entry in registry:
        for model, entry_rows in _entry_rows(entry, registry).items():
            rows[model].extend(entry_rows)
    return rows


def _entry_rows(entry: Architecture, registry: Registry) -> dict[type[Base], list[dict[str, Any]]]:
    from archclass import __version__
    from archclass.classifier import classify_entry
    from archclass.db.models import (
        AliasRow,
        ArchitectureRow,
        ArchitectureTagRow,
        ClassificationRow,
        HybridComponentRow,
        RuleFiringRow,
    )

    inference = entry.inference
    result = classify_entry(entry, registry)
    bound = result.bound
    recipe = _recipe_reading(entry, registry, result)
    architecture = {
        "id": entry.id,
        "name": entry.name,
        "title": entry.title,
        "authors": list(entry.authors) if entry.authors is not None else None,
        "year": entry.year,
        "arxiv": entry.arxiv,
        "url": entry.url,
        "family": str(entry.family),
        "summary": entry.summary,
        "hybrid": entry.is_hybrid,
        "per_step_compute": inference.per_step_compute if inference else None,
        "state_size": inference.state_size if inference else None,
        "state_scalars": inference.state_scalars if inference else None,
        "retrieval": inference.retrieval if inference else None,
        "precision": inference.precision if inference else None,
        "claims": list(inference.claims) if inference else None,
        "hyperparameters": {
            symbol: spec if isinstance(spec, str) else spec.model_dump(mode="json", exclude_none=True)
            for symbol, spec in entry.hyperparameters.items()
        },
        "evidence": entry.evidence,
        "confidence": entry.confidence,
        "notes": entry.notes,
        "reference": entry.reference,
    }
    classification = {
        "arch_id": entry.id,
        "efficient": result.efficient,
        "compact": result.compact,
        "recall": result.recall,
        "placement": result.placement,
        "position_e": float(result.position[0]),
        "position_c": float(result.position[1]),
        "position_r": float(result.position[2]),
        "compute_growth": result.compute_growth,
        "state_growth": result.state_growth,
        "max_pairs": finite(bound.get("max_pairs")) if bound and bound.get("evaluated") else None,
        "bound": jsonable(bound) if bound is not None else None,
        "recipe_efficient": recipe.efficient if recipe else None,
        "recipe_compact": recipe.compact if recipe else None,
        "recipe_recall": recipe.recall if recipe else None,
        "recipe_placement": recipe.placement if recipe else None,
        "recipe_position_e": float(recipe.position[0]) if recipe else None,
        "recipe_position_c": float(recipe.position[1]) if recipe else None,
        "recipe_position_r": float(recipe.position[2]) if recipe else None,
        "recipe_compute_growth": recipe.compute_growth if recipe else None,
        "recipe_state_growth": recipe.state_growth if recipe else None,
        "archclass_version": __version__,
    }
    return {
        ArchitectureRow: [architecture],
        ArchitectureTagRow: [{"arch_id": entry.id, "tag": str(tag)} for tag in dict.fromkeys(entry.tags)],
        AliasRow: [{"arch_id": entry.id, "alias": alias} for alias in entry.aliases],
        HybridComponentRow: [
            {"hybrid_id": entry.id, "component_id": c.arch, "ordinal": i, "fraction": c.fraction}
            for i, c in enumerate(entry.components or [])
        ],
        ClassificationRow: [classification],
        RuleFiringRow: [
            {
                "arch_id": entry.id,
                "ordinal": i,
                "rule": firing.rule,
                "property": firing.property,
                "value": firing.value,
                "explanation": firing.explanation,
            }
            for i, firing in enumerate(result.rules)
        ],
    }


def _recipe_reading(entry: Architecture, registry: Registry, fixed: Classification) -> Classification | None:
    """The second reading: the entry classified with the knobs its paper grows with T (``entry.recipe``).

    ``Classification.recipe`` gives it where archclass.classify computes it; until then it is computed
    here for entries with an ``inference`` block, by writing each recipe expression in place of its
    symbol. A hybrid without a recipe of its own, and any entry without one, has no second reading (None).
    """
    import re

    from archclass.classifier import TheoremViolation, classify_entry
    from archclass.complexity import ComplexityError

    given = getattr(fixed, "recipe", None)
    if given is not None or not entry.recipe or entry.inference is None:
        return given

    def grown(text: str | None) -> str | None:
        if text is None:
            return None
        for symbol, expression in entry.recipe.items():  # type: ignore[union-attr]
            text = re.sub(rf"\b{re.escape(symbol)}\b", f"({expression})", text)
        return text

    inference = entry.inference.model_copy(
        update={
            "per_step_compute": grown(entry.inference.per_step_compute),
            "state_size": grown(entry.inference.state_size),
            "state_scalars": grown(entry.inference.state_scalars),
        }
    )
    try:
        return classify_entry(entry.model_copy(update={"inference": inference, "recipe": None}), registry)
    except (ComplexityError, TheoremViolation):
        return None


def _insert(connection: Connection, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert ROWS into MODEL's table: COPY on PostgreSQL with psycopg, batched executemany elsewhere."""
    from archclass.db.models import table as table_of

    table = table_of(model)
    if not rows:
        return
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        _copy(connection, table, rows)
        return
    for start in range(0, len(rows), BATCH):
        connection.execute(table.insert(), rows[start : start + BATCH])


def _copy(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY FROM STDIN on the transaction's own connection: several times faster than
    INSERTs for tens of thousands of rows. Names come from the models (quoted by the dialect), values
    travel as COPY data, never as SQL text. JSON columns are serialised here; None is NULL."""
    import json

    from sqlalchemy import JSON

    preparer = connection.dialect.identifier_preparer
    columns = list(table.columns)
    names = ", ".join(preparer.quote(column.name) for column in columns)
    statement = f"COPY {preparer.format_table(table)} ({names}) FROM STDIN"
    is_json = [isinstance(column.type, JSON) for column in columns]
    driver_connection = connection.connection.driver_connection
    assert driver_connection is not None
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row.get(column.name))
                    if flag and row.get(column.name) is not None
                    else row.get(column.name)
                    for column, flag in zip(columns, is_json, strict=True)
                ]
            )


def read_meta(connection: Connection) -> dict[str, str]:
    from sqlalchemy import select

    from archclass.db.models import MetaRow, table

    meta = table(MetaRow)
    return {key: value for key, value in connection.execute(select(meta.c.key, meta.c.value))}


def write_meta(connection: Connection, values: dict[str, str]) -> None:
    from archclass.db.models import MetaRow, table

    meta = table(MetaRow)
    connection.execute(meta.delete().where(meta.c.key.in_(list(values))))
    connection.execute(meta.insert(), [{"key": k, "value": v} for k, v in values.items()])


def in_step(meta: dict[str, str], source: RegistrySource) -> bool:
    return all(meta.get(key) == value for key, value in source.fingerprint.items())


def write_registry(
    connection: Connection, rows: dict[type[Base], list[dict[str, Any]]], source: RegistrySource
) -> dict[str, int]:
    """Replace the registry-derived rows and meta, inside the caller's transaction, and keep the runs'
    links to architectures in step (the links are checked at commit: they are deferred foreign keys)."""
    from sqlalchemy import select

    from archclass.db.models import REGISTRY_TABLES, ArchitectureRow, table
    from archclass.db.runs import relink_runs

    architectures = table(ArchitectureRow)
    before = set(connection.execute(select(architectures.c.id)).scalars())
    for model in reversed(REGISTRY_TABLES):  # children first
        connection.execute(table(model).delete())
    for model in REGISTRY_TABLES:
        _insert(connection, model, rows[model])
    ids = {row["id"] for row in rows[ArchitectureRow]}
    relink_runs(connection, present=ids, removed=before - ids)
    write_meta(
        connection,
        {
            **source.fingerprint,
            "registry_path": source.shown_path,
            "synced_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "entries": str(len(ids)),
        },
    )
    return {model.__tablename__: len(rows[model]) for model in REGISTRY_TABLES}  # type: ignore[misc]


def sync_registry(
    engine: Engine,
    registry_path: Path | str | None = None,
    *,
    force: bool = True,
    source: RegistrySource | None = None,
) -> SyncResult:
    """Validate and classify the registry, then replace the database's copy in one transaction.

    With ``force=False`` the write is skipped when, once the lock is held, the database turns out to
    be in step already (another process synced the same registry meanwhile).
    """
    from archclass.db.engine import display_url, write_transaction

    started = time.perf_counter()
    source = source or read_source(registry_path)
    registry = load_source(source)  # raises RegistryError: nothing written
    rows = registry_rows(registry)
    result = SyncResult(display_url(str(engine.url)), str(source.path), source.registry_sha256, None)
    with write_transaction(engine) as connection:
        meta = read_meta(connection)
        result.previous_registry_sha256 = meta.get("registry_sha256")
        if not force and in_step(meta, source):
            result.skipped = True
            result.counts = {"architectures": int(meta.get("entries", "0") or 0)}
        else:
            result.counts = write_registry(connection, rows, source)
    result.seconds = time.perf_counter() - started
    return result


def sync_database(db: str | None = None, registry: Path | str | None = None, *, results: bool = False) -> SyncResult:
    """``archclass sync``: upgrade the database ``db`` to head, replace its copy of the registry, and with
    ``results`` load the measured runs committed under results/ (:mod:`archclass.db.results`)."""
    from archclass.db import migrate
    from archclass.db.engine import database_errors, make_engine
    from archclass.db.location import resolve_url

    url = resolve_url(db)
    engine = make_engine(url)
    try:
        with database_errors(url):
            migrate.upgrade(engine)
            result = sync_registry(engine, registry, force=True)
            if results:
                from archclass.db.results import load_committed_results

                result.results = load_committed_results(engine)
    finally:
        engine.dispose()
    return result
