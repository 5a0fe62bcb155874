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


def number(value: float) -> str:
    """A number as a person reads it: 8 not 8.0, 67,108,864 not 6.711e+07, 0.4375 not 0.438."""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4g}"


def percent(fraction: float) -> str:
    """0.125 as 12.5%, 1/3 as 33.33%."""
    return f"{fraction * 100:.4g}%"


def growth(phrase: str | None) -> str:
    """How a quantity grows with T, as a table cell: '1' (the growth of a constant) reads 'constant'."""
    return "constant" if phrase == "1" else (phrase or "unknown")


def grows(phrase: str | None) -> str:
    """The same as a predicate: 'is constant', or 'grows as T log T'."""
    return "is constant" if phrase == "1" else f"grows as {growth(phrase)}"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error to stderr and exit."""
    from rich.markup import escape

    stderr.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    raise SystemExit(code)


def parse_key_values(items: list[str], option: str, example: str) -> dict[str, Any]:
    """`KEY=VALUE` options to a dict (values read as JSON when they parse); kept for the commands that call it."""
    from archclass.keyvalue import parse_pairs

    return parse_pairs(items, option, example)
