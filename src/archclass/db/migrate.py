"""Alembic, driven from code: no alembic.ini is needed at runtime.

``script_location`` is :func:`archclass.paths.migrations_dir`, the checkout's ``migrations/`` or the
copy shipped in the wheel. The connection is handed to ``migrations/env.py`` through
``config.attributes["connection"]`` inside archclass's own write transaction, so a migration holds the
same lock as a sync and a failed migration is rolled back (SQLite and PostgreSQL both have
transactional DDL).

A database stamped with a revision this code does not know was written by a newer archclass: it is
refused with :class:`SchemaTooNew` and never touched; a database that is not archclass's at all is
refused with :class:`archclass.db.identity.NotArchclassDatabase`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archclass.db.identity import stamped_revisions
from archclass.errors import ArchclassError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import Connection, Engine



class SchemaTooNew(ArchclassError):
    """The database's schema revision is unknown to this code: it comes from a newer archclass."""


@dataclass(frozen=True)
class RevisionState:
    current: tuple[str, ...]  # revisions stamped in the database; () for an empty database
    head: str

    @property
    def empty(self) -> bool:
        return not self.current

    @property
    def at_head(self) -> bool:
        return self.current == (self.head,)


def alembic_config(connection: Connection | None = None, script_location: Path | str | None = None) -> Config:
    from alembic.config import Config

    from archclass.paths import migrations_dir

    config = Config()
    config.set_main_option("script_location", str(script_location or migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory(script_location: Path | str | None = None) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(script_location=script_location))


def head_revision(script_location: Path | str | None = None) -> str:
    heads = script_directory(script_location).get_heads()
    if len(heads) != 1:
        raise ArchclassError(f"the migrations have {len(heads)} heads ({', '.join(heads)}); merge them first")
    return heads[0]


#: A module-level ``revision = '0003'`` or ``down_revision: str | None = '0002'`` line of a version file.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


def static_head(script_location: Path | str | None = None) -> str | None:
    """The head revision read from the version files' ``revision`` and ``down_revision`` lines (no Alembic
    import, and no parsing of whole files: this is the fast path of every query). None when a file does
    not declare them as one-line literals; callers then ask Alembic. A test checks that this agrees with
    Alembic's own answer."""
    import ast

    from archclass.paths import migrations_dir

    versions = Path(script_location or migrations_dir()) / "versions"
    revisions: set[str] = set()
    parents: set[str] = set()
    try:
        for file in sorted(versions.glob("*.py")):
            found = {name: ast.literal_eval(value) for name, value in _REVISION_LINE.findall(file.read_text("utf-8"))}
            revision, down = found.get("revision"), found.get("down_revision")
            if not isinstance(revision, str):
                return None
            revisions.add(revision)
            if isinstance(down, str):
                parents.add(down)
            elif isinstance(down, tuple | list):
                parents.update(str(d) for d in down)
            elif down is not None:
                return None
    except (OSError, SyntaxError, ValueError):
        return None
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revisions(connection: Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def revision_state(connection: Connection, script_location: Path | str | None = None) -> RevisionState:
    """The database's revision(s) and the code's head; raise SchemaTooNew for an unknown revision."""
    script = script_directory(script_location)
    heads = script.get_heads()
    if len(heads) != 1:
        raise ArchclassError(f"the migrations have {len(heads)} heads ({', '.join(heads)}); merge them first")
    current = current_revisions(connection)
    for revision in current:
        if not _known(script, revision):
            from archclass.db.engine import display_url

            raise SchemaTooNew(
                f"database {display_url(str(connection.engine.url))} has schema revision {revision!r}, which this "
                f"archclass does not know (its newest is {heads[0]!r}): it was written by a newer archclass. "
                "Upgrade archclass, or use another database with --db; the database was not changed"
            )
    return RevisionState(current, heads[0])


def _known(script: ScriptDirectory, revision: str) -> bool:
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except (CommandError, RevisionError):
        return False


def upgrade(engine: Engine, target: str = "head", script_location: Path | str | None = None) -> RevisionState:
    """Upgrade to TARGET under the write lock; a database newer than the code, or not archclass's, is
    refused untouched."""
    from alembic import command

    from archclass.db.engine import write_transaction
    from archclass.db.identity import identify

    with write_transaction(engine, foreign_keys=False) as connection:
        identify(connection)
        state = revision_state(connection, script_location)
        if target == "head" and state.at_head:
            return state
        command.upgrade(alembic_config(connection, script_location), target)
        return RevisionState(current_revisions(connection), state.head)


def downgrade(engine: Engine, target: str, script_location: Path | str | None = None) -> RevisionState:
    """Downgrade to TARGET ('base' drops every table); used by tests and by hand, never implicitly."""
    from alembic import command

    from archclass.db.engine import write_transaction
    from archclass.db.identity import identify

    with write_transaction(engine, foreign_keys=False) as connection:
        identify(connection)
        state = revision_state(connection, script_location)
        command.downgrade(alembic_config(connection, script_location), target)
        return RevisionState(current_revisions(connection), state.head)


@dataclass(frozen=True)
class UpgradeReport:
    """What ``archclass db upgrade`` did."""

    database: str
    previous_revision: str | None
    current_revision: str | None
    head_revision: str

    @property
    def upgraded(self) -> bool:
        return self.previous_revision != self.current_revision

    def as_dict(self) -> dict[str, object]:
        return {
            "database": self.database,
            "previous_revision": self.previous_revision,
            "current_revision": self.current_revision,
            "head_revision": self.head_revision,
            "upgraded": self.upgraded,
        }


def upgrade_database(db: str | None = None) -> UpgradeReport:
    """Create the database ``db`` (URL or path) if needed and upgrade it to head; never downgrades."""
    from archclass.db.engine import database_errors, display_url, make_engine, read_transaction
    from archclass.db.location import resolve_url

    url = resolve_url(db)
    engine = make_engine(url)
    try:
        with database_errors(url):
            with read_transaction(engine) as connection:
                before = stamped_revisions(connection)
            after = upgrade(engine)
    finally:
        engine.dispose()
    return UpgradeReport(display_url(url), ", ".join(before) or None, ", ".join(after.current) or None, after.head)
