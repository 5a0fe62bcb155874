"""Where output goes and how numbers read: data to stdout, diagnostics to stderr; Rich honours NO_COLOR."""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, NoReturn

from rich.console import Console

# Piped output has no terminal width; Rich would assume 80 columns and squeeze tables, so give pipes
# room (COLUMNS still wins when set).
_PIPE_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
stdout = Console(highlight=False, soft_wrap=False, width=_PIPE_WIDTH)
stderr = Console(stderr=True, highlight=False)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(json_ready(data), indent=2, ensure_ascii=False, default=str) + "\n")


def json_ready(data: Any, key: str | None = None) -> Any:
    """Whole floats as integers (8, not 8.0); a bound on a number of pairs as the whole pairs it allows."""
    if isinstance(data, dict):
        return {k: json_ready(v, k) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [json_ready(item) for item in data]
    if isinstance(data, float) and math.isfinite(data):
        if key == "max_pairs":
            return math.floor(data)
        return int(data) if data.is_integer() else data
    return data


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error to stderr and exit."""
    from rich.markup import escape

    stderr.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    raise SystemExit(code)
