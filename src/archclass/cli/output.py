"""Where output goes and how numbers read: data to stdout, diagnostics to stderr; Rich honours NO_COLOR."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

# Piped output has no terminal width; Rich would assume 80 columns and squeeze tables, so give pipes
# room (COLUMNS still wins when set).
_PIPE_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
stdout = Console(highlight=False, soft_wrap=False, width=_PIPE_WIDTH)
stderr = Console(stderr=True, highlight=False)


def say(line: str) -> None:
    """A result line on stdout, printed as it is (no markup)."""
    stdout.print(line, markup=False, highlight=False, soft_wrap=True)


def note(line: str) -> None:
    """A diagnostic line on stderr, printed as it is."""
    stderr.print(line, markup=False, soft_wrap=True)


def write_output(text: str, output: Path | None, check: str | None = None) -> None:
    """TEXT to stdout, or to the file OUTPUT (saying so on stderr); given CHECK, the command that writes
    OUTPUT, compare OUTPUT with TEXT instead and fail naming CHECK when they differ."""
    from archclass.generated import check_generated, write_generated

    if output is None:
        sys.stdout.write(text)
    elif check:
        check_generated(output, text, check)
        note(f"{output} is up to date")
    else:
        write_generated(output, text)
        note(f"wrote {output}")


def print_rows(rows: list[dict[str, Any]], format_: str, table: Callable[[list[dict[str, Any]]], Any]) -> None:
    """The rows of `list` or `query` as JSON records, as CSV, or as TABLE(rows) in the terminal."""
    from archclass.db.export import query_csv

    if format_ == "json":
        emit_json(rows)
    elif format_ == "csv":
        sys.stdout.write(query_csv(rows))
    elif not rows:
        note("no architectures match")
    else:
        stdout.print(table(rows))


def emit_json(data: Any) -> None:
    from archclass.json_output import json_text

    sys.stdout.write(json_text(data))


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error to stderr and exit."""
    from rich.markup import escape

    stderr.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    raise SystemExit(code)
