"""JSON as archclass writes it, on stdout and in exports: indented, UTF-8 kept, numbers as people read them."""

from __future__ import annotations

import json
import math
from typing import Any


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


def json_text(data: Any) -> str:
    """DATA as indented JSON text ending in a newline, numbers as :func:`json_ready` writes them."""
    return json.dumps(json_ready(data), indent=2, ensure_ascii=False, default=str) + "\n"
