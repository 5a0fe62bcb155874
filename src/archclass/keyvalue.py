"""The one parser for KEY=VALUE options (--kw, --set, --hyper, --component, --override)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from archclass.errors import ArchclassError

V = TypeVar("V")


class KeyValueError(ArchclassError):
    """A KEY=VALUE item that does not parse; the CLI turns it into a usage error for its option."""

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        self.option = option


def json_value(text: str) -> Any:
    """A value read as JSON when it parses (numbers, booleans, lists), else kept as the string."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text
    return value


def finite_number(text: str) -> float:
    """A finite float; NaN and infinities are refused."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_pairs(
    items: Iterable[str],
    option: str,
    example: str,
    convert: Callable[[str], V] = json_value,  # type: ignore[assignment]
    what: str = "VALUE",
) -> dict[str, V]:
    """`KEY=VALUE` items to a dict, converting each value; a malformed item names the option and an example."""
    result: dict[str, V] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise KeyValueError(f"{item!r} is not KEY={what}, e.g. {option} {example}", option)
        try:
            result[key] = convert(value.strip())
        except (ValueError, TypeError) as error:
            raise KeyValueError(f"{item!r}: {error or 'bad value'}; e.g. {option} {example}", option) from None
    return result
