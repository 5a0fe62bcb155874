"""The archclass database: the registry, its classification, and the measured probe and recall runs.

A cache of the registry plus the measurements, in an SQLite file in the user's data directory by
default (:mod:`~archclass.db.location`), or any SQLAlchemy URL, PostgreSQL included, through
``--db``/``ARCHCLASS_DB``. The first command that needs it creates it, migrates it to the newest schema
and syncs it from the registry; it re-syncs whenever the registry (or the rules, or archclass) changes.

Modules: ``models`` (tables and run records), ``location`` (where the database is), ``engine``
(locking transactions), ``identity`` (whose database it is), ``migrate`` (Alembic from code), ``ready``
(create, upgrade, sync before use), ``sync`` (registry to rows), ``runs`` (probe and recall run
records), ``store`` (recording runs in a ready database), ``results`` (the committed results/ files),
``query`` (typed filters), ``export`` (CSV, Markdown, BibTeX), ``status`` (``db status``), ``datasette``
(its metadata).

This top level imports nothing heavy, so ``archclass show`` can ask for the latest probe run without
loading SQLAlchemy when there is no database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archclass.db.location import default_database_exists, default_db_path, resolve_url

if TYPE_CHECKING:
    from archclass.db.ready import ready_database
    from archclass.db.store import recall_runs, record_probe_run, record_recall_runs

__all__ = [
    "default_db_path",
    "latest_probe_summary",
    "ready_database",
    "recall_runs",
    "record_probe_run",
    "record_recall_runs",
    "resolve_url",
]

_LAZY = {
    "ready_database": "archclass.db.ready",
    "record_probe_run": "archclass.db.store",
    "record_recall_runs": "archclass.db.store",
    "recall_runs": "archclass.db.store",
}


def __getattr__(name: str) -> Any:
    """The functions that need SQLAlchemy, imported on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module 'archclass.db' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)


def latest_probe_summary(arch_id: str) -> dict[str, Any] | None:
    """The newest probe run of ARCH_ID in the DEFAULT database, as JSON-ready data, or None.

    Never creates, migrates or writes anything: an SQLite default database is read only if its file
    exists, and a database that cannot be read gives None rather than breaking ``archclass show``.
    """
    url = default_database_exists()
    if url is None:
        return None
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    from archclass.db.runs import latest_probe_run, run_dict
    from archclass.errors import ArchclassError

    try:
        run = latest_probe_run(url, arch_id)
    except (SQLAlchemyError, ArchclassError, sqlite3.Error, OSError):
        return None
    return run_dict(run) if run is not None else None
