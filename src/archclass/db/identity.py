"""Whose database is this? archclass creates, migrates and writes only its own databases.

An archclass database says so itself: ``meta`` holds ('application', 'archclass') from migration 0003
on, and an SQLite file also carries archclass's id in its header (``PRAGMA application_id``). Databases
written before that marker existed are recognised by their exact table set at their Alembic revision
(0001 or 0002) and upgraded; the upgrade adds the marker. An empty database (no tables, or only an
empty ``alembic_version``) is archclass's to create. Anything else (another program's tables, another
Alembic application's database, an SQLite file another application has claimed) is refused with
:class:`NotArchclassDatabase` before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from archclass.errors import ArchclassError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

APPLICATION_KEY = "application"
APPLICATION = "archclass"
#: The SQLite header's application_id of an archclass file: "arch" in ASCII.
SQLITE_APPLICATION_ID = 0x61726368
_BEFORE_RECALL = frozenset(
    {"architectures", "aliases", "hybrid_components", "classifications", "rule_firings", "probe_runs", "meta"}
)
#: The tables of archclass databases written before the marker, by their Alembic revision.
UNMARKED_TABLES: dict[str, frozenset[str]] = {"0001": _BEFORE_RECALL, "0002": _BEFORE_RECALL | {"recall_runs"}}


class NotArchclassDatabase(ArchclassError):
    """A non-empty database that archclass did not create: it is left exactly as it is."""


@dataclass(frozen=True)
class Identity:
    empty: bool  # nothing there yet: archclass may create its schema
    marked: bool  # carries archclass's marker (schema 0003 or later)
    stamped: tuple[str, ...] = ()  # the Alembic revisions in the database


def identify(connection: Connection) -> Identity:
    """Check that the database is empty or archclass's; raise NotArchclassDatabase otherwise."""
    from sqlalchemy import inspect, select

    from archclass.db.engine import display_url

    where = display_url(str(connection.engine.url))
    if connection.dialect.name == "sqlite":
        application_id = connection.exec_driver_sql("PRAGMA application_id").scalar()
        if application_id not in (0, SQLITE_APPLICATION_ID):
            raise NotArchclassDatabase(
                f"{where} belongs to another application (SQLite application_id {application_id}); "
                "archclass changed nothing in it: choose another database with --db"
            )
    inspector = inspect(connection)
    names = set(inspector.get_table_names()) | set(inspector.get_view_names())
    stamped = stamped_revisions(connection) if VERSION_TABLE in names else ()
    if not names or (names == {VERSION_TABLE} and not stamped):
        return Identity(empty=True, marked=False, stamped=stamped)
    if "meta" in names:
        from archclass.db.models import MetaRow, table

        meta = table(MetaRow)
        marker = connection.execute(select(meta.c.value).where(meta.c.key == APPLICATION_KEY)).scalar()
        if marker == APPLICATION:
            return Identity(empty=False, marked=True, stamped=stamped)
    if len(stamped) == 1 and UNMARKED_TABLES.get(stamped[0]) == names - {VERSION_TABLE}:
        return Identity(empty=False, marked=False, stamped=stamped)
    raise NotArchclassDatabase(
        f"{where} is not an archclass database ({_contents(names, stamped)}); archclass changed nothing in it: "
        "choose another database with --db"
    )


def _contents(names: set[str], stamped: tuple[str, ...]) -> str:
    """What the database holds, for the message: the tables archclass would never make first."""
    from archclass.db.models import ALL_TABLES, CLASSES_VIEW, table

    ours = {table(model).name for model in ALL_TABLES} | {CLASSES_VIEW, VERSION_TABLE}
    foreign = sorted(names - ours)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        held = f"it holds {shown}, which archclass does not make"
    else:
        held = f"its tables {', '.join(sorted(names))} match no archclass schema"
    return held + (f"; Alembic revision {', '.join(stamped)}" if stamped else "")

#: Alembic's own table; identity reads it without Alembic, and migrate imports it from here.
VERSION_TABLE = "alembic_version"


def stamped_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions in the database's alembic_version table, read without Alembic; () when none."""
    from sqlalchemy import column, inspect, select, table

    if not inspect(connection).has_table(VERSION_TABLE):
        return ()
    version = table(VERSION_TABLE, column("version_num"))
    return tuple(sorted(row[0] for row in connection.execute(select(version.c.version_num))))
