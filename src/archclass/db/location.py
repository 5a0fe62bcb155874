"""Where the database lives: ``--db``, then ``$ARCHCLASS_DB``, then a file in the user's data directory.

The default file is ``archclass.db`` in the platform's per-user data directory:

- Linux and other Unix: ``$XDG_DATA_HOME/archclass/archclass.db``, i.e. ``~/.local/share/archclass/archclass.db``
- macOS: ``~/Library/Application Support/archclass/archclass.db``
- Windows: ``%LOCALAPPDATA%\\archclass\\archclass.db``

``--db`` and ``ARCHCLASS_DB`` take any SQLAlchemy URL (``sqlite:///path.db``,
``postgresql+psycopg://user:pass@host/dbname``) or a plain file path, which means an SQLite file.
A bare ``postgresql://`` URL uses the psycopg 3 driver (the ``postgres`` extra).

This module imports nothing heavy: ``show`` asks it whether a database exists without loading
SQLAlchemy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "ARCHCLASS_DB"
FILE_NAME = "archclass.db"


def user_data_dir() -> Path:
    """The platform's per-user data directory for archclass."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"  # relative: ignored, per XDG
    return base / "archclass"


def default_db_path() -> Path:
    return user_data_dir() / FILE_NAME


def resolve_url(value: str | None = None) -> str:
    """The SQLAlchemy URL for ``--db VALUE``, else ``$ARCHCLASS_DB``, else the default file."""
    value = (value or "").strip() or os.environ.get(ENV_VAR, "").strip()
    if not value:
        return path_to_url(default_db_path())
    if "://" not in value:
        return path_to_url(Path(value).expanduser())
    scheme, _, rest = value.partition("://")
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + rest
    return value


def path_to_url(path: Path) -> str:
    return "sqlite:///" + str(path.absolute())


def sqlite_file(url: str) -> Path | None:
    """The file behind an SQLite URL; None for in-memory databases and other dialects."""
    if not url.startswith("sqlite"):
        return None
    _, _, rest = url.partition("://")
    if not rest.startswith("/"):
        return None
    database = rest[1:].split("?", 1)[0]
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def default_database_exists() -> str | None:
    """The URL of the default database if it can exist without being created (a file that is there,
    or a server URL); None when it is an SQLite file that does not exist yet."""
    url = resolve_url(None)
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        return url if path is not None and path.is_file() else None
    return url
