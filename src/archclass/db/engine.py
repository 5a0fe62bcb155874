"""Engines and transactions: SQLite with real locking, PostgreSQL with an advisory lock.

SQLite: pysqlite's own transaction handling starts transactions late and never as IMMEDIATE, so the
driver is put in autocommit mode and SQLAlchemy's ``begin`` emits ``BEGIN`` itself: ``BEGIN
IMMEDIATE`` for writers (the write lock is taken up front, so two writers queue instead of one failing
half-way) and a deferred ``BEGIN`` for readers. A busy timeout makes a second writer wait for the
first. Foreign keys are enforced.

PostgreSQL: every write transaction first takes a transaction-scoped advisory lock, so two syncs (or
two first-time migrations) run one after the other instead of colliding on primary keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from archclass.errors import ArchclassError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

#: Seconds a writer waits for another writer's lock (SQLite busy timeout).
BUSY_TIMEOUT_S = 60.0
#: Key of the PostgreSQL advisory lock held by archclass write transactions ("archcl" in ASCII).
ADVISORY_LOCK_KEY = 0x61726368636C
_WRITE = "archclass_write"


def display_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL we cannot parse is shown as given
        return url


def make_engine(url: str) -> Engine:
    """An engine for URL, configured as the module docstring describes; driver problems become one line."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from archclass.db.location import sqlite_file

    shown = display_url(url)
    try:
        if url.startswith("sqlite"):
            path = sqlite_file(url)
            if path is not None:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise ArchclassError(f"cannot create the directory for {shown}: {error.strerror}") from None
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})
            _configure_sqlite(engine, event)
        else:
            engine = create_engine(url, pool_pre_ping=False)
    except NoSuchModuleError as error:
        raise ArchclassError(f"no database driver for {shown}: {error}") from None
    except ArgumentError as error:
        raise ArchclassError(f"invalid database URL {shown}: {error}") from None
    except ModuleNotFoundError as error:
        hint = " (install it with: pip install 'archclass[postgres]')" if "psycopg" in str(error.name) else ""
        raise ArchclassError(f"the driver for {shown} is not installed: {error.name}{hint}") from None
    return engine


def _configure_sqlite(engine: Engine, event: Any) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # autocommit in the driver; we issue BEGIN ourselves
        dbapi_connection.create_function("archclass_casefold", 1, _casefold, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _casefold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


@contextmanager
def write_transaction(engine: Engine, *, foreign_keys: bool = True) -> Iterator[Connection]:
    """One transaction holding the database's write lock; committed on success, rolled back on error.

    ``foreign_keys=False`` is for migrations on SQLite: batch mode recreates a table by copying it
    and dropping the original, and with foreign keys enforced that DROP would cascade-delete the
    rows of child tables. Enforcement is switched off for the transaction (SQLite only allows that
    outside one), ``PRAGMA foreign_key_check`` must come back empty before the commit, and it is
    switched on again afterwards. ``legacy_alter_table`` is on meanwhile, so that renaming the rebuilt
    table back to its name does not trip over the views that use it (SQLite re-checks every view on a
    rename and finds the original table already dropped).
    """
    with connect(engine) as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite and not foreign_keys:
            _pragma_outside_transaction(connection, "PRAGMA foreign_keys = OFF")
            _pragma_outside_transaction(connection, "PRAGMA legacy_alter_table = ON")
        try:
            connection.execution_options(**{_WRITE: True})
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    from sqlalchemy import text

                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
                yield connection
                if sqlite and not foreign_keys:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise ArchclassError(
                            f"migration left {len(broken)} rows with dangling foreign keys (first in table "
                            f"{broken[0][0]!r}); rolled back"
                        )
        finally:
            if sqlite and not foreign_keys:
                _pragma_outside_transaction(connection, "PRAGMA legacy_alter_table = OFF")
                _pragma_outside_transaction(connection, "PRAGMA foreign_keys = ON")


def _pragma_outside_transaction(connection: Connection, pragma: str) -> None:
    """Run PRAGMA on the driver connection directly (it is in autocommit mode), so SQLAlchemy does not
    autobegin a transaction around it: SQLite ignores PRAGMA foreign_keys inside a transaction."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(pragma)
    finally:
        cursor.close()


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """One read-only snapshot (a deferred transaction on SQLite)."""
    with connect(engine) as connection, connection.begin():
        yield connection


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Database errors (SQLAlchemy's) raised inside become one-line ArchclassErrors naming URL, password hidden."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as error:
        raise ArchclassError(f"database error on {display_url(url)}: {reason(error)}") from None


def reason(error: Exception) -> str:
    """The first line of a database error's own message (the driver's, when there is one)."""
    orig = getattr(error, "orig", None)
    return (str(orig if orig is not None else error).strip().splitlines() or [type(error).__name__])[0]


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection; failing to reach the database becomes one line naming the URL (password hidden)."""
    from sqlalchemy.exc import OperationalError

    try:
        connection = engine.connect()
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
        raise ArchclassError(f"cannot open database {display_url(str(engine.url))}: {reason}") from None
    with connection:
        yield connection
