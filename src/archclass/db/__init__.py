"""The archclass database: SQLModel tables mirroring the registry, evolved by Alembic migrations.

The database is a cache of the registry plus the probe runner's measurements and the recall sweeps'
trained models. By default it is an
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
    "recall_runs",
    "record_probe_run",
    "record_recall_runs",
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
        raise ArchclassError(f"cannot store the probe run in {display_url(url)}: {_reason(error)}") from None


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
    """A probe_runs (or recall_runs) row as a dict, ``created_at`` as ISO 8601 text in UTC."""
    data = dict(row._mapping)
    created = data.get("created_at")
    if isinstance(created, datetime):
        if created.tzinfo is None:  # SQLite keeps no zone; archclass stores UTC
            created = created.replace(tzinfo=UTC)
        data["created_at"] = created.isoformat(timespec="seconds")
    return data


#: Integer columns of recall_runs filled from the run dict's keys of the same name.
_RECALL_INTEGERS = (
    "d_model",
    "seed",
    "vocab",
    "seq_len",
    "n_layers",
    "steps_run",
    "capacity",
    "state_scalars",
    "state_bits",
    "bits_per_scalar",
)
#: Keys every run dict must have; bound_pairs and tokens_per_second may be missing or None (NULL).
_RECALL_REQUIRED = ("arch", *_RECALL_INTEGERS, "accuracy")
#: Run-dict keys kept in columns; every other key goes to ``details``.
_RECALL_COLUMNS = frozenset((*_RECALL_REQUIRED, "arch_id", "bound_pairs", "tokens_per_second"))


def record_recall_runs(
    runs: Sequence[Mapping[str, Any]],
    *,
    sweep_id: str | None = None,
    device: str,
    target_accuracy: float,
    command: str | None = None,
    arch_ids: Mapping[str, str] | None = None,
    created_at: datetime | None = None,
    db: str | None = None,
) -> list[int]:
    """Store the runs of one recall sweep in ONE transaction (all or nothing); return their ids in order.

    Each run is a ``RunResult.as_dict()`` of :mod:`archclass.recall.train`. Its configuration, capacity,
    state, bound and ``accuracy`` ({"K": accuracy}) become columns; every other key (overrides,
    accuracy_by_distance, history, at_length, train_seconds, and any unknown key) goes to ``details``,
    with the sweep's ``command``. All runs share ``sweep_id`` (a new uuid4 hex by default), ``device``,
    ``target_accuracy`` and ``created_at`` (now). ``arch_ids`` maps reference names to registry ids
    (default: a run's own ``arch_id`` key, else NULL). Non-finite floats become null: a NaN tokens/s or
    bound is stored as NULL. Every run is checked before anything is written (a missing key is named),
    and a row the database refuses (a negative capacity breaks its CHECK) rolls back the whole sweep.
    The database is created and migrated if needed, not synced. Problems are raised as ArchclassError.
    """
    import uuid

    from sqlalchemy.exc import SQLAlchemyError

    from archclass import __version__
    from archclass.db.engine import display_url, write_transaction
    from archclass.db.models import metadata
    from archclass.db.sync import _finite, _jsonable
    from archclass.errors import ArchclassError

    if not device or not isinstance(device, str):
        raise ArchclassError("a recall sweep needs 'device'")
    target = _finite(_recall_float(target_accuracy, "target_accuracy", "the recall sweep"))
    if target is None:
        raise ArchclassError(f"target_accuracy must be a finite number, got {target_accuracy!r}")
    sweep = sweep_id or uuid.uuid4().hex
    when = created_at or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    names = dict(arch_ids or {})
    rows: list[dict[str, Any]] = []
    for number, run in enumerate(runs, start=1):
        where = f"recall run {number} of {len(runs)}"
        if not isinstance(run, Mapping):
            raise ArchclassError(f"{where} is not a mapping but {type(run).__name__}")
        for key in _RECALL_REQUIRED:
            if run.get(key) is None:
                raise ArchclassError(f"a recall run needs {key!r} ({where} has none)")
        arch = run["arch"]
        if not isinstance(arch, str) or not arch:
            raise ArchclassError(f"{where}: 'arch' must be a non-empty string, got {arch!r}")
        where = f"{where} ({arch})"
        accuracy = run["accuracy"]
        if not isinstance(accuracy, Mapping):
            raise ArchclassError(f"{where}: 'accuracy' must map K to an accuracy, got {type(accuracy).__name__}")
        integers = {key: _recall_int(run[key], key, where) for key in _RECALL_INTEGERS}
        details = {key: value for key, value in run.items() if key not in _RECALL_COLUMNS}
        details["command"] = command if command is not None else details.get("command")
        arch_id = names.get(arch, run.get("arch_id"))
        rows.append(
            {
                "sweep_id": str(sweep),
                "arch": arch,
                "arch_id": str(arch_id) if arch_id is not None else None,
                **integers,
                "bound_pairs": _finite(_recall_float(run.get("bound_pairs"), "bound_pairs", where)),
                "target_accuracy": target,
                "tokens_per_second": _finite(_recall_float(run.get("tokens_per_second"), "tokens_per_second", where)),
                "device": device,
                "created_at": when.astimezone(UTC),
                "accuracy": _jsonable({str(k): v for k, v in accuracy.items()}),
                "details": _jsonable(details),
                "archclass_version": __version__,
            }
        )
    if not rows:
        return []
    url = resolve_url(db)
    try:
        engine, _ = open_database(db, sync=False)
        try:
            table = metadata.tables["recall_runs"]
            ids: list[int] = []
            with write_transaction(engine) as connection:
                for row in rows:
                    primary = connection.execute(table.insert(), row).inserted_primary_key
                    assert primary is not None
                    ids.append(int(primary[0]))
            return ids
        finally:
            engine.dispose()
    except SQLAlchemyError as error:
        raise ArchclassError(f"cannot store the recall runs in {display_url(url)}: {_reason(error)}") from None


def recall_runs(db: str | None = None, arch: str | None = None, sweep_id: str | None = None) -> list[dict[str, Any]]:
    """The stored recall runs, newest first, optionally only those of ARCH (a reference name or a
    registry id) or of one sweep; ``created_at`` as ISO 8601 text. The database is created and
    migrated if needed (like a query), not synced. Problems are raised as ArchclassError."""
    from sqlalchemy import or_, select
    from sqlalchemy.exc import SQLAlchemyError

    from archclass.db.engine import display_url, read_transaction
    from archclass.db.models import metadata
    from archclass.errors import ArchclassError

    url = resolve_url(db)
    table = metadata.tables["recall_runs"]
    statement = select(table).order_by(table.c.created_at.desc(), table.c.id.desc())
    if arch is not None:
        statement = statement.where(or_(table.c.arch == arch, table.c.arch_id == arch))
    if sweep_id is not None:
        statement = statement.where(table.c.sweep_id == sweep_id)
    try:
        engine, _ = open_database(db, sync=False)
        try:
            with read_transaction(engine) as connection:
                return [probe_run_dict(row) for row in connection.execute(statement)]
        finally:
            engine.dispose()
    except SQLAlchemyError as error:
        raise ArchclassError(f"cannot read the recall runs from {display_url(url)}: {_reason(error)}") from None


def _recall_int(value: Any, key: str, where: str) -> int:
    import operator

    from archclass.errors import ArchclassError

    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise ArchclassError(f"{where}: {key!r} must be an integer, got {value!r}") from None


def _recall_float(value: Any, key: str, where: str) -> float | None:
    from archclass.errors import ArchclassError

    if value is None:
        return None
    try:
        if isinstance(value, bool | str | bytes):
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        raise ArchclassError(f"{where}: {key!r} must be a number, got {value!r}") from None


def _reason(error: Exception) -> str:
    """The first line of a database error's own message."""
    orig = getattr(error, "orig", None)
    return (str(orig if orig is not None else error).strip().splitlines() or [type(error).__name__])[0]


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
