"""Recording probe and recall runs in a database that is made ready first, and reading the recall runs back.

The layer above :mod:`archclass.db.runs` (which builds, stores and reads run records inside a caller's
connection) and :mod:`archclass.db.ready` (which creates, migrates and syncs a database before use): the
sync that ``ready`` runs loads committed runs through ``runs``, so opening a database belongs here, not in
``runs``, or the two would import each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from archclass.db.models import ProbeRunRow, RecallRunRow, table
from archclass.db.runs import for_entry, probe_run, read_run, recall_run_rows, store_runs
from archclass.errors import ArchclassError


def record_probe_run(result: Mapping[str, Any], *, db: str | None = None, created_at: datetime | None = None) -> int:
    """Store one probe result (see :func:`probe_run`) in the database ``db``; return its id. The database is
    created and migrated if needed, and synced from the default registry only if it never was (so the run
    links to its architecture). Problems are one-line ArchclassErrors."""
    run = probe_run(result, created_at=created_at)
    return _store(db, [run], "the probe run")[0]


def record_recall_runs(
    runs: Sequence[Mapping[str, Any]],
    *,
    target_accuracy: float,
    device: str | None = None,
    sweep_id: str | None = None,
    command: str | None = None,
    arch_ids: Mapping[str, str] | None = None,
    created_at: datetime | None = None,
    db: str | None = None,
) -> list[int]:
    """Store the runs of one recall sweep (see :func:`recall_run_rows`) in ONE transaction, all or nothing;
    return their ids in order. A row the database refuses (a negative capacity breaks its CHECK) rolls
    back the whole sweep. The database is made ready as for :func:`record_probe_run`."""
    rows = recall_run_rows(
        runs,
        target_accuracy=target_accuracy,
        device=device,
        sweep_id=sweep_id,
        command=command,
        arch_ids=arch_ids,
        created_at=created_at,
    )
    return _store(db, rows, "the recall runs") if rows else []


def recall_runs(db: str | None = None, arch: str | None = None, sweep_id: str | None = None) -> list[RecallRunRow]:
    """The stored recall runs, newest first, optionally only those of ARCH (a reference name or a registry
    id, linked or waiting unlinked) or of one sweep. The database is created and migrated if needed (like
    a query), not synced."""
    from sqlalchemy import or_, select

    from archclass.db.engine import read_transaction
    from archclass.db.ready import ready_database

    runs = table(RecallRunRow)
    statement = select(runs).order_by(runs.c.created_at.desc(), runs.c.id.desc())
    if arch is not None:
        statement = statement.where(or_(runs.c.arch == arch, for_entry(runs, arch)))
    if sweep_id is not None:
        statement = statement.where(runs.c.sweep_id == sweep_id)
    with ready_database(db, sync=False) as engine, read_transaction(engine) as connection:
        return [read_run(RecallRunRow, row) for row in connection.execute(statement)]


def _store(db: str | None, runs: Sequence[ProbeRunRow] | Sequence[RecallRunRow], what: str) -> list[int]:
    from archclass.db.engine import write_transaction
    from archclass.db.ready import ready_database

    try:
        with ready_database(db, sync=False, first_sync=True) as engine, write_transaction(engine) as connection:
            return store_runs(connection, runs)
    except ArchclassError as error:
        raise ArchclassError(f"cannot store {what}: {error}") from None
