"""Options shared by several commands, each defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

RegistryOption = Annotated[
    Optional[Path],
    typer.Option(
        "--registry",
        envvar="ARCHCLASS_REGISTRY",
        help="Registry YAML file (default: the bundled data/architectures.yaml).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON to stdout.")]
DbOption = Annotated[
    Optional[str],
    typer.Option(
        "--db",
        envvar="ARCHCLASS_DB",
        help="Database: a file path (SQLite) or an SQLAlchemy URL such as sqlite:///archclass.db or "
        "postgresql+psycopg://user:pass@host/dbname. Default: archclass.db in the user data directory "
        "($XDG_DATA_HOME/archclass or ~/.local/share/archclass on Linux); 'archclass db status' shows it.",
        show_default=False,
    ),
]
