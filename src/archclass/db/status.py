"""``archclass db status``: where the database is, its schema revision, what it was synced from, and what it
holds. Reading it creates and changes nothing."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError


@dataclass
class StatusReport:
    database: str
    head_revision: str
    exists: bool = True
    current_revision: str | None = None
    up_to_date: bool = False
    registry: str | None = None
    registry_sha256: str | None = None
    synced: dict[str, str | None] | None = None
    in_step: bool = False
    entries: int | None = None
    probe_runs: int | None = None
    recall_runs: int | None = None
    #: Why this archclass cannot use the database (or read the registry); None when all is well.
    error: str | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The report for people, one fact a line."""
        synced = self.synced or {}
        if synced.get("registry_sha256"):
            state = " (in step)" if self.in_step else " (stale: the next query re-syncs)"
            synced_line = f"{synced.get('synced_at')} from sha256 {str(synced['registry_sha256'])[:12]}{state}"
        else:
            synced_line = "never"
        lines = [f"database        {self.database}"]
        if not self.exists:
            lines.append("                not created yet (the first query or sync creates it)")
        up_to_date = ", up to date)" if self.up_to_date else ")"
        lines += [
            f"revision        {self.current_revision or '-'} (head {self.head_revision}{up_to_date}",
            f"registry        {self.registry or '-'}",
            f"registry sha256 {self.registry_sha256 or '-'}",
            f"synced          {synced_line}",
            f"entries         {_count(self.entries)}",
            f"probe runs      {_count(self.probe_runs)}",
            f"recall runs     {_count(self.recall_runs)}",
        ]
        return lines


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def database_status(db: str | None = None, registry: Path | str | None = None) -> StatusReport:
    """The status of the database ``db`` against the registry file ``registry``; ``error`` is set when the
    database was written by a newer archclass, is not archclass's, or the registry cannot be read."""
    from archclass.db import migrate
    from archclass.db.engine import database_errors, display_url, make_engine
    from archclass.db.location import resolve_url, sqlite_file
    from archclass.db.sync import read_source

    url = resolve_url(db)
    report = StatusReport(database=display_url(url), head_revision=migrate.head_revision())
    try:
        source = read_source(registry)
        report.registry, report.registry_sha256 = str(source.path), source.registry_sha256
    except ArchclassError as error:
        source, report.error = None, str(error)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        report.exists = False
        return report
    engine = make_engine(url)
    try:
        with database_errors(url):
            _read_database(engine, report, source.fingerprint if source is not None else None)
    except ArchclassError as error:
        report.error = str(error)
    finally:
        engine.dispose()
    return report


def _read_database(engine: Any, report: StatusReport, fingerprint: dict[str, str] | None) -> None:
    from sqlalchemy import func, select

    from archclass.db import migrate
    from archclass.db.engine import read_transaction
    from archclass.db.identity import identify
    from archclass.db.models import ArchitectureRow, ProbeRunRow, RecallRunRow, table
    from archclass.db.sync import SYNC_KEYS, read_meta

    with read_transaction(engine) as connection:
        identity = identify(connection)
        report.current_revision = ", ".join(migrate.stamped_revisions(connection)) or None
        state = migrate.revision_state(connection)
        report.up_to_date = state.at_head
        if identity.empty or not state.at_head:
            return
        meta = read_meta(connection)
        report.synced = {
            "registry": meta.get("registry_path"),
            "registry_sha256": meta.get("registry_sha256"),
            "synced_at": meta.get("synced_at"),
            **{key: meta.get(key) for key in SYNC_KEYS if key != "registry_sha256"},
        }
        report.in_step = fingerprint is not None and all(meta.get(k) == v for k, v in fingerprint.items())
        count = lambda model: connection.execute(select(func.count()).select_from(table(model))).scalar()  # noqa: E731
        report.entries, report.probe_runs, report.recall_runs = (
            count(ArchitectureRow),
            count(ProbeRunRow),
            count(RecallRunRow),
        )
