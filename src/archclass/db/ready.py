"""Making a database ready for use: refuse someone else's or a newer one, create or upgrade it to the
newest schema, and re-sync it when the registry (or the rules, or archclass itself) changed since the
last sync. Every command that uses the database goes through :func:`ready_database`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archclass.errors import ArchclassError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from archclass.db.sync import SyncResult

#: Receives one line for each thing done on the way (created, upgraded, synced); the CLI prints them.
Notify = Callable[[str], None]


@dataclass
class EnsureResult:
    created: bool = False
    upgraded_from: tuple[str, ...] | None = None
    synced: SyncResult | None = None
    head: str = ""

    def notices(self, where: str) -> list[str]:
        lines = []
        if self.created:
            lines.append(f"created database {where} (schema {self.head})")
        elif self.upgraded_from:
            lines.append(f"upgraded database {where} from {', '.join(self.upgraded_from)} to {self.head}")
        if self.synced is not None and not self.synced.skipped:
            lines.append(f"synced {self.synced.counts.get('architectures', 0)} entries from {self.synced.registry}")
        return lines


def ensure_database(
    engine: Engine,
    registry_path: Path | str | None = None,
    *,
    sync: bool = True,
    upgrade: bool = True,
    first_sync: bool = False,
) -> EnsureResult:
    """Make the database usable: refuse a foreign or newer one untouched, upgrade an older or empty one to
    head, and re-sync from the registry if it (or the rules, or archclass) changed since the last sync.
    With ``first_sync`` instead of ``sync``, sync only a database that was never synced (so that runs stored
    in it link to their architectures, without replacing a registry someone synced on purpose)."""
    from archclass.db import migrate
    from archclass.db.engine import read_transaction
    from archclass.db.identity import identify
    from archclass.db.sync import in_step, read_meta, read_source, sync_registry

    with read_transaction(engine) as connection:
        identity = identify(connection)  # raises NotArchclassDatabase before anything is written
        head = migrate.static_head()
        if identity.marked and head is not None and identity.stamped == (head,):
            state = migrate.RevisionState(identity.stamped, head)  # the fast path: no Alembic import
        else:
            state = migrate.revision_state(connection)  # raises SchemaTooNew before anything is written
        meta = read_meta(connection) if state.at_head and (sync or first_sync) else {}
    result = EnsureResult(head=state.head)
    if not state.at_head:
        if not upgrade:
            raise ArchclassError(
                f"database schema is at {', '.join(state.current) or 'nothing'}, not {state.head}; "
                "run 'archclass db upgrade'"
            )
        result.created = state.empty
        result.upgraded_from = state.current
        migrate.upgrade(engine)
    if sync or (first_sync and "registry_sha256" not in meta):
        source = read_source(registry_path)
        if not in_step(meta, source):
            result.synced = sync_registry(engine, force=False, source=source)
    return result


@contextmanager
def ready_database(
    db: str | None = None,
    registry: Path | str | None = None,
    *,
    sync: bool = True,
    first_sync: bool = False,
    notify: Notify | None = None,
) -> Iterator[Engine]:
    """An engine on the database ``db`` (URL or path; default as :mod:`archclass.db.location` says), created,
    upgraded to head and, with ``sync``, in step with the registry; disposed of on exit. What was done on the
    way goes to ``notify``; database errors become one-line ArchclassErrors. ``first_sync``: see
    :func:`ensure_database`."""
    from archclass.db.engine import database_errors, display_url, make_engine
    from archclass.db.location import resolve_url

    url = resolve_url(db)
    engine = make_engine(url)
    try:
        with database_errors(url):
            result = ensure_database(engine, registry, sync=sync, first_sync=first_sync)
            for line in result.notices(display_url(url)):
                if notify is not None:
                    notify(line)
            yield engine
    finally:
        engine.dispose()
