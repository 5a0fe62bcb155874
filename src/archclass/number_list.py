"""Comma-separated whole numbers, as several options take them (``--lengths 256,512,1024``, ``--pairs 8,16``)."""

from __future__ import annotations

from archclass.errors import ArchclassError


class NumberListError(ArchclassError):
    """A list that does not parse; carries the option it came from, which the CLI makes a usage error of."""

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        self.option = option


def comma_ints(text: str | None, option: str, example: str = "8,16,32", at_least: int = 1) -> list[int]:
    """'256,512,1024' as sorted distinct positive whole numbers, at least AT_LEAST of them; none when TEXT is
    empty. Anything else is a NumberListError naming OPTION and showing EXAMPLE."""
    if not text:
        return []
    try:
        values = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise NumberListError(f"{text!r} is not a comma-separated list of whole numbers", option) from None
    if not values or values[0] < 1:
        raise NumberListError(f"give positive numbers, e.g. {example}", option)
    if len(values) < at_least:
        raise NumberListError(f"give at least {at_least} distinct positive numbers, e.g. {example}", option)
    return values
