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

from archclass.errors import Issue, RegistryError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from archclass.registry import Registry

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


def registry_rows(registry: Registry) -> dict[str, list[dict[str, Any]]]:
    """Every registry-derived row, by table, in insertion order (parents before children)."""
    from archclass import __version__
    from archclass.classifier import classify_entry

    rows: dict[str, list[dict[str, Any]]] = {
        "architectures": [],
        "aliases": [],
        "hybrid_components": [],
        "classifications": [],
        "rule_firings": [],
    }
    for entry in registry:
        inference = entry.inference
        rows["architectures"].append(
            {
                "id": entry.id,
                "name": entry.name,
                "year": entry.year,
                "arxiv": entry.arxiv,
                "url": entry.url,
                "family": entry.family,
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
        )
        rows["aliases"].extend({"arch_id": entry.id, "alias": alias} for alias in entry.aliases)
        rows["hybrid_components"].extend(
            {"hybrid_id": entry.id, "component_id": c.arch, "ordinal": i, "fraction": c.fraction}
            for i, c in enumerate(entry.components or [])
        )
        result = classify_entry(entry, registry)
        bound = result.bound
        rows["classifications"].append(
            {
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
                "hybrid": result.hybrid,
                "max_pairs": _finite(bound.get("max_pairs")) if bound and bound.get("evaluated") else None,
                "bound": _jsonable(bound) if bound is not None else None,
                "archclass_version": __version__,
            }
        )
        rows["rule_firings"].extend(
            {
                "arch_id": entry.id,
                "ordinal": i,
                "rule": firing.rule,
                "property": firing.property,
                "value": firing.value,
                "explanation": firing.explanation,
            }
            for i, firing in enumerate(result.rules)
        )
    return rows


def _finite(value: Any) -> float | None:
    import math

    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _jsonable(value: Any) -> Any:
    """A JSON-safe copy: non-finite floats become None (PostgreSQL's json type refuses NaN and Infinity),
    tensors and numpy scalars become lists and numbers, anything else unknown becomes its str()."""
    import math

    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    for method in ("tolist", "item"):
        convert = getattr(value, method, None)
        if callable(convert):
            try:
                return _jsonable(convert())
            except Exception:  # noqa: BLE001, S112 - fall through to str()
                continue
    return str(value)


def _insert(connection: Connection, table_name: str, rows: list[dict[str, Any]]) -> None:
    """Insert ROWS into TABLE_NAME: COPY on PostgreSQL with psycopg, batched executemany elsewhere."""
    from archclass.db.models import metadata

    table = metadata.tables[table_name]
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

    from archclass.db.models import metadata

    table = metadata.tables["meta"]
    return {key: value for key, value in connection.execute(select(table.c.key, table.c.value))}


def write_meta(connection: Connection, values: dict[str, str]) -> None:
    from archclass.db.models import metadata

    table = metadata.tables["meta"]
    connection.execute(table.delete().where(table.c.key.in_(list(values))))
    connection.execute(table.insert(), [{"key": k, "value": v} for k, v in values.items()])


def in_step(meta: dict[str, str], source: RegistrySource) -> bool:
    return all(meta.get(key) == value for key, value in source.fingerprint.items())


def write_registry(
    connection: Connection, rows: dict[str, list[dict[str, Any]]], source: RegistrySource
) -> dict[str, int]:
    """Replace the registry-derived rows and meta, inside the caller's transaction."""
    from archclass.db.models import REGISTRY_TABLES, metadata

    for name in reversed(REGISTRY_TABLES):  # children first
        connection.execute(metadata.tables[name].delete())
    for name in REGISTRY_TABLES:
        _insert(connection, name, rows[name])
    write_meta(
        connection,
        {
            **source.fingerprint,
            "registry_path": str(source.path),
            "synced_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "entries": str(len(rows["architectures"])),
        },
    )
    return {name: len(rows[name]) for name in REGISTRY_TABLES}


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
    from archclass.db.engine import write_transaction

    started = time.perf_counter()
    source = source or read_source(registry_path)
    registry = load_source(source)  # raises RegistryError: nothing written
    rows = registry_rows(registry)
    result = SyncResult(str(engine.url), str(source.path), source.registry_sha256, None)
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


@dataclass
class EnsureResult:
    created: bool = False
    upgraded_from: tuple[str, ...] | None = None
    synced: SyncResult | None = None
    head: str = ""


def ensure_database(
    engine: Engine,
    registry_path: Path | str | None = None,
    *,
    sync: bool = True,
    upgrade: bool = True,
) -> EnsureResult:
    """Make the database usable: refuse a newer schema, upgrade an older or empty one to head, and
    re-sync from the registry if it (or the rules, or archclass) changed since the last sync."""
    from archclass.db import migrate
    from archclass.db.engine import read_transaction

    with read_transaction(engine) as connection:
        head = migrate.static_head()
        stamped = migrate.stamped_revisions(connection)
        if head is not None and stamped == (head,):
            state = migrate.RevisionState(stamped, head)  # the fast path: no Alembic import
        else:
            state = migrate.revision_state(connection)  # raises SchemaTooNew before anything is written
        meta = read_meta(connection) if state.at_head and sync else {}
    result = EnsureResult(head=state.head)
    if not state.at_head:
        if not upgrade:
            from archclass.errors import ArchclassError

            raise ArchclassError(
                f"database schema is at {', '.join(state.current) or 'nothing'}, not {state.head}; "
                "run 'archclass db upgrade'"
            )
        result.created = state.empty
        result.upgraded_from = state.current
        migrate.upgrade(engine)
    if sync:
        source = read_source(registry_path)
        if not in_step(meta, source):
            result.synced = sync_registry(engine, force=False, source=source)
    return result
