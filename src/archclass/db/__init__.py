"""The archclass database: SQLModel tables mirroring the registry, evolved by Alembic migrations.

The database is a cache of the registry plus the probe runner's measurements. By default it is an
SQLite file in the user's data directory (see :mod:`archclass.db.location`), created, migrated to the
newest schema and synced from the registry by the first command that needs it, and re-synced whenever
the registry file (or the classifier's rules, or archclass itself) changes. Any SQLAlchemy URL works
through ``--db``/``ARCHCLASS_DB``, PostgreSQL included.

Submodules: ``models`` (tables), ``location`` (where the database is), ``engine`` (locking
transactions), ``migrate`` (Alembic from code), ``sync`` (registry to rows), ``query`` (typed filters),
``export`` (CSV, Markdown, BibTeX).

This package's top level imports nothing heavy, so ``archclass show`` can ask for the latest probe run
without loading SQLAlchemy when there is no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archclass.db.location import default_database_exists, default_db_path, resolve_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from archclass.db.sync import EnsureResult

__all__ = [
    "default_db_path",
    "latest_probe_summary",
    "open_database",
    "record_probe_run",
    "resolve_url",
]


def open_database(
    db: str | None = None, registry: Path | str | None = None, *, sync: bool = True
) -> tuple[Engine, EnsureResult]:
    """An engine on the database ``db`` (URL or path; default as documented), created, upgraded to
    head and, with ``sync``, in step with the registry. The caller disposes of the engine."""
    from archclass.db.engine import make_engine
    from archclass.db.sync import ensure_database

    engine = make_engine(resolve_url(db))
    try:
        result = ensure_database(engine, registry, sync=sync)
    except BaseException:
        engine.dispose()
        raise
    return engine, result


def record_probe_run(
    result: Mapping[str, Any] | None = None,
    *,
    module: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    lengths: Sequence[int] | None = None,
    measurements: Any = None,
    fit: Any = None,
    arch_id: str | None = None,
    placement: str | None = None,
    efficient: bool | None = None,
    compact: bool | None = None,
    recall: bool | None = None,
    state_growth: str | None = None,
    compute_growth: str | None = None,
    details: Any = None,
    created_at: datetime | None = None,
    db: str | None = None,
) -> int:
    """Store one probe run in the database (created and migrated if needed, not synced); return its id.

    Pass either the probe runner's result dict (``ProbeResult.as_dict()``: target, arch_id, device,
    dtype, measurements with a ``length`` each, fit with ``state``/``compute`` growths,
    classification, and the rest, which is kept under ``details``), or the columns as keywords;
    keywords win over the dict. ``measurements``, ``fit`` and ``details`` are stored as JSON: tensors
    and numpy numbers are converted, non-finite floats become null (PostgreSQL's json refuses NaN).
    Database problems are raised as ArchclassError.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from archclass import __version__
    from archclass.db.engine import display_url, write_transaction
    from archclass.db.models import PLACEMENTS, metadata
    from archclass.db.sync import _jsonable
    from archclass.errors import ArchclassError

    columns = _columns_from_result(result) if result is not None else {}
    given = {
        "module": module,
        "device": device,
        "dtype": dtype,
        "lengths": lengths,
        "measurements": measurements,
        "fit": fit,
        "arch_id": arch_id,
        "placement": placement,
        "efficient": efficient,
        "compact": compact,
        "recall": recall,
        "state_growth": state_growth,
        "compute_growth": compute_growth,
        "details": details,
    }
    columns.update({key: value for key, value in given.items() if value is not None})
    for required in ("module", "device", "dtype"):
        if not columns.get(required):
            raise ArchclassError(f"a probe run needs {required!r}")
    if columns.get("placement") is not None and columns["placement"] not in PLACEMENTS:
        raise ArchclassError(f"placement {columns['placement']!r} is not one of {', '.join(PLACEMENTS)}")
    when = created_at or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    row = {
        "arch_id": columns.get("arch_id"),
        "module": str(columns["module"]),
        "device": str(columns["device"]),
        "dtype": str(columns["dtype"]),
        "created_at": when.astimezone(UTC),
        "lengths": [int(n) for n in columns.get("lengths") or []],
        "measurements": _jsonable(columns.get("measurements")),
        "fit": _jsonable(columns.get("fit")),
        "placement": columns.get("placement"),
        "efficient": columns.get("efficient"),
        "compact": columns.get("compact"),
        "recall": columns.get("recall"),
        "state_growth": columns.get("state_growth"),
        "compute_growth": columns.get("compute_growth"),
        "details": _jsonable(columns.get("details")),
        "archclass_version": __version__,
    }
    url = resolve_url(db)
    try:
        engine, _ = open_database(db, sync=False)
        try:
            table = metadata.tables["probe_runs"]
            with write_transaction(engine) as connection:
                key = connection.execute(table.insert(), row).inserted_primary_key
                assert key is not None
                return int(key[0])
        finally:
            engine.dispose()
    except SQLAlchemyError as error:
        orig = getattr(error, "orig", None)
        reason = (str(orig if orig is not None else error).strip().splitlines() or [type(error).__name__])[0]
        raise ArchclassError(f"cannot store the probe run in {display_url(url)}: {reason}") from None


def _columns_from_result(result: Mapping[str, Any]) -> dict[str, Any]:
    """The probe_runs columns from a ProbeResult.as_dict()."""
    measurements = result.get("measurements") or []
    fit = result.get("fit") or {}
    verdict = result.get("classification") or {}

    def growth(name: str) -> str | None:
        entry = fit.get(name) if isinstance(fit, Mapping) else None
        return entry.get("growth") if isinstance(entry, Mapping) else None

    return {
        "module": result.get("target"),
        "arch_id": result.get("arch_id"),
        "device": result.get("device"),
        "dtype": result.get("dtype"),
        "lengths": [m["length"] for m in measurements if isinstance(m, Mapping) and "length" in m],
        "measurements": measurements,
        "fit": fit,
        "placement": verdict.get("placement"),
        "efficient": verdict.get("efficient"),
        "compact": verdict.get("compact"),
        "recall": verdict.get("recall"),
        "state_growth": growth("state"),
        "compute_growth": growth("compute"),
        "details": {k: v for k, v in result.items() if k not in ("measurements", "fit")},
    }


def probe_run_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    created = data.get("created_at")
    if isinstance(created, datetime):
        if created.tzinfo is None:  # SQLite keeps no zone; archclass stores UTC
            created = created.replace(tzinfo=UTC)
        data["created_at"] = created.isoformat(timespec="seconds")
    return data


def latest_probe_summary(arch_id: str) -> dict[str, Any] | None:
    """The newest probe run of ARCH_ID in the DEFAULT database, or None.

    Never creates, migrates or writes anything: an SQLite default database is read only if its file
    already exists (opened read-only), and a database that cannot be read gives None rather than
    breaking ``archclass show``.
    """
    url = default_database_exists()
    if url is None:
        return None
    import sqlite3

    from sqlalchemy import create_engine, inspect, select
    from sqlalchemy.exc import SQLAlchemyError

    from archclass.db.location import sqlite_file
    from archclass.db.models import metadata
    from archclass.errors import ArchclassError

    engine = None
    try:
        path = sqlite_file(url)
        if path is not None:
            uri = path.absolute().as_uri() + "?mode=ro"
            engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
        else:
            engine = create_engine(url, connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {})
        table = metadata.tables["probe_runs"]
        with engine.connect() as connection:
            if not inspect(connection).has_table("probe_runs"):
                return None
            statement = (
                select(table)
                .where(table.c.arch_id == arch_id)
                .order_by(table.c.created_at.desc(), table.c.id.desc())
                .limit(1)
            )
            row = connection.execute(statement).first()
            return probe_run_dict(row) if row is not None else None
    except (SQLAlchemyError, ArchclassError, sqlite3.Error, OSError):
        return None
    finally:
        if engine is not None:
            engine.dispose()
