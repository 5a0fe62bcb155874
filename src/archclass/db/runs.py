"""Probe and recall runs: built from what the probe runner and a recall sweep report, stored, read back.

A run's record is its row class, :class:`~archclass.db.models.ProbeRunRow` or
:class:`~archclass.db.models.RecallRunRow`: the builders here validate a producer's dict into one, the
writer stores it in the caller's transaction (:mod:`archclass.db.store` opens the database for it), the
readers return it, and the migration test checks the same classes against the schema. What each
producer reports is read in one place each: :func:`probe_run` for ``ProbeResult.as_dict()`` of
:mod:`archclass.probe.runner` (what ``archclass probe --out`` writes), and :func:`recall_run_rows` for
``RunResult.as_dict()`` of :mod:`archclass.recall.train`, whose keys are the recall run's own column
names (:data:`RECALL_RUN_COLUMNS`).

A run's ``arch_id`` links it to ``architectures``. A run recorded for a registry id the database does not
hold (it was synced from another registry) is stored unlinked: ``arch_id`` NULL and the id in
``details.unlinked_arch_id``; the sync that brings that entry links it (:func:`relink_runs`), and the sync
that removes an entry unlinks its runs the same way, so no measurement is ever lost with its link.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from archclass.db.models import ProbeRunRow, RecallRunRow, table
from archclass.db.values import finite, jsonable
from archclass.errors import ArchclassError
from archclass.vocabulary import PLACEMENTS

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Row

Run = TypeVar("Run", ProbeRunRow, RecallRunRow)
UNLINKED = "unlinked_arch_id"

#: Columns a recall sweep (not each run) fills; every other column of recall_runs is the run's own key.
_SWEEP_COLUMNS = frozenset(
    {"id", "sweep_id", "arch_id", "target_accuracy", "device", "created_at", "details", "source", "archclass_version"}
)
RECALL_RUN_COLUMNS: tuple[str, ...] = tuple(name for name in RecallRunRow.model_fields if name not in _SWEEP_COLUMNS)
#: Keys of a probe result that become columns; the rest is kept under details.
_PROBE_COLUMN_KEYS = frozenset({"target", "arch_id", "device", "dtype", "measurements", "fit"})
_VERDICT = ("placement", "efficient", "compact", "recall")


def probe_run(
    result: Mapping[str, Any], *, created_at: datetime | None = None, source: str | None = None
) -> ProbeRunRow:
    """The record of one probe result: target, arch_id, device, dtype, measurements (each with its
    length), fit (growths of state and compute), classification (the probe's verdict); every other key
    is kept under details. Non-finite floats become null; a problem is one ArchclassError line."""
    from archclass import __version__

    if not isinstance(result, Mapping):
        raise ArchclassError(f"a probe run must be a mapping, not {type(result).__name__}")
    where = f"probe run of {result.get('target')!r}"
    measurements = result.get("measurements") or []
    fit: Mapping[str, Any] = result["fit"] if isinstance(result.get("fit"), Mapping) else {}
    verdict: Mapping[str, Any] = result["classification"] if isinstance(result.get("classification"), Mapping) else {}

    def growth(name: str) -> Any:
        entry = fit.get(name)
        return entry.get("growth") if isinstance(entry, Mapping) else None

    details = {key: value for key, value in result.items() if key not in _PROBE_COLUMN_KEYS}
    if verdict:
        details["classification"] = {key: value for key, value in verdict.items() if key not in _VERDICT}
    run = _validated(
        ProbeRunRow,
        {
            "module": result.get("target"),
            "arch_id": result.get("arch_id"),
            "device": result.get("device"),
            "dtype": result.get("dtype"),
            "created_at": _utc(created_at),
            "lengths": [m["length"] for m in measurements if isinstance(m, Mapping) and "length" in m],
            "measurements": jsonable(measurements),
            "fit": jsonable(fit),
            **{f"probe_{key}": verdict.get(key) for key in _VERDICT},
            "probe_state_growth": growth("state"),
            "probe_compute_growth": growth("compute"),
            "details": jsonable(details),
            "source": source,
            "archclass_version": __version__,
        },
        where,
    )
    for required in ("module", "device", "dtype"):
        if not getattr(run, required):
            raise ArchclassError(f"a probe run needs {required!r} ({where} has none)")
    if run.probe_placement is not None and run.probe_placement not in PLACEMENTS:
        raise ArchclassError(f"{where}: placement {run.probe_placement!r} is not one of {', '.join(PLACEMENTS)}")
    return run


def recall_run_rows(
    runs: Sequence[Mapping[str, Any]],
    *,
    target_accuracy: float,
    device: str | None = None,
    sweep_id: str | None = None,
    command: str | None = None,
    arch_ids: Mapping[str, str] | None = None,
    created_at: datetime | None = None,
    source: str | None = None,
) -> list[RecallRunRow]:
    """The records of one recall sweep's runs, every run checked before any is returned.

    A run's keys named like a column (:data:`RECALL_RUN_COLUMNS`) fill it; every other key (overrides,
    accuracy_by_distance, history, at_length, train_seconds, unknown ones) goes to details, with the
    sweep's ``command``. The runs share ``sweep_id`` (a new uuid4 hex by default), ``target_accuracy``,
    ``created_at`` (now) and ``device`` (default: each run's own). ``arch_ids`` maps reference names to
    registry ids (default: a run's own ``arch_id`` key). A NaN bound or speed is stored as NULL.
    """
    from archclass import __version__

    target = finite(target_accuracy)
    if target is None or isinstance(target_accuracy, bool):
        raise ArchclassError(f"target_accuracy must be a finite number, got {target_accuracy!r}")
    sweep = sweep_id or uuid.uuid4().hex
    when = _utc(created_at)
    names = dict(arch_ids or {})
    rows = []
    for number, run in enumerate(runs, start=1):
        where = f"recall run {number} of {len(runs)}"
        if not isinstance(run, Mapping):
            raise ArchclassError(f"{where} is not a mapping but {type(run).__name__}")
        for key in RECALL_RUN_COLUMNS:
            if RecallRunRow.model_fields[key].is_required() and run.get(key) is None:
                raise ArchclassError(f"a recall run needs {key!r} ({where} has none)")
        arch = run["arch"]
        if not isinstance(arch, str) or not arch:
            raise ArchclassError(f"{where}: 'arch' must be a non-empty string, got {arch!r}")
        where = f"{where} ({arch})"
        accuracy = run["accuracy"]
        if not isinstance(accuracy, Mapping):
            raise ArchclassError(f"{where}: 'accuracy' must map K to an accuracy, got {type(accuracy).__name__}")
        details = {key: value for key, value in run.items() if key not in (*RECALL_RUN_COLUMNS, "arch_id", "device")}
        details["command"] = command if command is not None else details.get("command")
        row = _validated(
            RecallRunRow,
            {
                **{key: run.get(key) for key in RECALL_RUN_COLUMNS},
                "accuracy": jsonable({str(k): v for k, v in accuracy.items()}),
                "sweep_id": sweep,
                "arch_id": names.get(arch, run.get("arch_id")),
                "target_accuracy": target,
                "device": device or run.get("device"),
                "created_at": when,
                "details": jsonable(details),
                "source": source,
                "archclass_version": __version__,
            },
            where,
        )
        row.bound_pairs = finite(row.bound_pairs)
        row.tokens_per_second = finite(row.tokens_per_second)
        rows.append(row)
    return rows


def store_runs(connection: Connection, runs: Sequence[ProbeRunRow] | Sequence[RecallRunRow]) -> list[int]:
    """Insert RUNS in the caller's transaction, linking each to its architecture when the database has it
    (unlinked otherwise, see the module docstring); return their new ids in order."""
    from sqlalchemy import select

    from archclass.db.models import ArchitectureRow

    wanted = sorted({run.arch_id for run in runs if run.arch_id})
    architectures = table(ArchitectureRow)
    known: set[str] = set()
    for chunk in _chunks(wanted):
        known.update(connection.execute(select(architectures.c.id).where(architectures.c.id.in_(chunk))).scalars())
    ids = []
    for run in runs:
        if run.arch_id and run.arch_id not in known:
            run.details = {**_as_details(run.details), UNLINKED: run.arch_id}
            run.arch_id = None
        key = connection.execute(table(type(run)).insert(), run.model_dump(exclude={"id"})).inserted_primary_key
        assert key is not None
        run.id = int(key[0])
        ids.append(run.id)
    return ids


def relink_runs(connection: Connection, *, present: set[str], removed: set[str]) -> None:
    """Keep the runs' links in step with a sync: unlink the runs of REMOVED entries (keeping their ids),
    and link the unlinked runs whose entry is PRESENT again."""
    from sqlalchemy import select

    for model in (ProbeRunRow, RecallRunRow):
        runs = table(model)
        for chunk in _chunks(sorted(removed)):
            linked = select(runs.c.id, runs.c.arch_id, runs.c.details).where(runs.c.arch_id.in_(chunk))
            for run_id, arch_id, details in connection.execute(linked).all():
                unlinked = {**_as_details(details), UNLINKED: arch_id}
                connection.execute(runs.update().where(runs.c.id == run_id).values(arch_id=None, details=unlinked))
        waiting = runs.c.details[UNLINKED].as_string().is_not(None)
        orphans = select(runs.c.id, runs.c.details).where(runs.c.arch_id.is_(None), waiting)
        for run_id, details in connection.execute(orphans).all():
            if isinstance(details, dict) and details.get(UNLINKED) in present:
                kept = {key: value for key, value in details.items() if key != UNLINKED}
                values = {"arch_id": details[UNLINKED], "details": kept or None}
                connection.execute(runs.update().where(runs.c.id == run_id).values(**values))


def latest_probe_run(url: str, arch_id: str) -> ProbeRunRow | None:
    """The newest probe run of ARCH_ID in the database at URL, which is only read: an SQLite file is opened
    read-only, and a database that is not archclass's, or lacks the table, gives None."""
    import sqlite3

    from sqlalchemy import create_engine, inspect, select

    from archclass.db.identity import identify
    from archclass.db.location import sqlite_file

    path = sqlite_file(url)
    if path is not None:
        uri = path.absolute().as_uri() + "?mode=ro"
        engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    else:
        engine = create_engine(url, connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {})
    runs = table(ProbeRunRow)
    newest = select(runs).where(for_entry(runs, arch_id)).order_by(runs.c.created_at.desc(), runs.c.id.desc())
    try:
        with engine.connect() as connection:
            if not identify(connection).marked or not inspect(connection).has_table(runs.name):
                return None
            row = connection.execute(newest.limit(1)).first()
            return read_run(ProbeRunRow, row) if row is not None else None
    finally:
        engine.dispose()


def for_entry(runs: Any, arch_id: str) -> Any:
    """Runs of the registry entry ARCH_ID: linked to it, or waiting unlinked with its id."""
    from sqlalchemy import and_, or_

    waiting = and_(runs.c.arch_id.is_(None), runs.c.details[UNLINKED].as_string() == arch_id)
    return or_(runs.c.arch_id == arch_id, waiting)


def read_run(model: type[Run], row: Row[Any]) -> Run:
    """A stored row as its record; SQLite keeps no time zone, and archclass stores UTC."""
    data = dict(row._mapping)
    created = data.get("created_at")
    if isinstance(created, datetime) and created.tzinfo is None:
        data["created_at"] = created.replace(tzinfo=UTC)
    return model.model_validate(data)


def run_dict(run: ProbeRunRow | RecallRunRow) -> dict[str, Any]:
    """A run as JSON-ready data, ``created_at`` as ISO 8601 text in UTC."""
    data = run.model_dump()
    data["created_at"] = run.created_at.astimezone(UTC).isoformat(timespec="seconds")
    return data


def _validated(model: type[Run], data: dict[str, Any], where: str) -> Run:
    """DATA checked against MODEL's field types; the first problem as one line naming WHERE."""
    from pydantic import ValidationError

    try:
        run = model.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"])
        if problem["type"] == "missing" or problem.get("input", "") is None:
            raise ArchclassError(f"{where} needs {field!r}") from None
        raise ArchclassError(f"{where}: {field!r} {problem['msg'][:1].lower()}{problem['msg'][1:]}") from None
    for name, value in run.model_dump().items():
        if isinstance(value, str) and "\x00" in value:
            raise ArchclassError(f"{where}: {name!r} contains a NUL character")
    return run


def _utc(when: datetime | None) -> datetime:
    when = when or datetime.now(UTC)
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).astimezone(UTC)


def _as_details(details: Any) -> dict[str, Any]:
    if isinstance(details, dict):
        return dict(details)
    return {} if details is None else {"details": details}


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
