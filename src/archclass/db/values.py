"""Values made safe for the database: PostgreSQL's json refuses NaN and Infinity, and neither backend
stores tensors or numpy numbers."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any


def finite(value: Any) -> float | None:
    """VALUE as a float when it is a finite number, else None (stored as SQL NULL)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def jsonable(value: Any) -> Any:
    """A JSON-safe copy: non-finite floats become None, tensors and numpy scalars become lists and
    numbers, datetimes ISO 8601 text, anything else unknown its str()."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    for method in ("tolist", "item"):
        convert = getattr(value, method, None)
        if callable(convert):
            try:
                return jsonable(convert())
            except Exception:  # noqa: BLE001, S112 - fall through to str()
                continue
    return str(value)
