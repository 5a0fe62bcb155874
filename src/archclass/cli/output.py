"""Where output goes: data to stdout, diagnostics to stderr; Rich honours NO_COLOR and non-TTYs."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console

# Piped output has no terminal width; Rich would assume 80 columns and squeeze tables, so give pipes
# room (COLUMNS still wins when set).
_PIPE_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
stdout = Console(highlight=False, soft_wrap=False, width=_PIPE_WIDTH)
stderr = Console(stderr=True, highlight=False)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error to stderr and exit."""
    from rich.markup import escape

    stderr.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    raise SystemExit(code)


def parse_key_values(items: list[str], option: str, example: str) -> dict[str, Any]:
    """`KEY=VALUE` options to a dict; values are read as JSON when they parse (numbers, booleans)."""
    import typer

    result: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE, e.g. {option} {example}", param_hint=option)
        try:
            result[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            result[key.strip()] = value
    return result
