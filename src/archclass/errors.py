"""Errors that reach the user as one line, never as a traceback."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Control, format (zero-width, bidi overrides), separator, surrogate, private and unassigned characters:
# none of them may reach a terminal or a log raw, where they could move the cursor, forge a line or hide text.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def is_unsafe_character(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def _escape(char: str) -> str:
    if char.isascii():
        return repr(char)[1:-1]
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"


def printable(text: str) -> str:
    """TEXT with every control, invisible or unusual space written as an escape (\\n, \\x1b, \\u200b)."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable():
            out.append(char)
        else:
            out.append(_escape(char))
    return "".join(out)


class ArchclassError(Exception):
    """A problem with the user's input or data; the CLI prints it and exits with code 1.

    Its text is always one printable line: control characters in names taken from the input are escaped.
    """

    def __str__(self) -> str:
        return printable(super().__str__())


@dataclass(frozen=True)
class Issue:
    """One problem in a registry file, located as precisely as the file allows."""

    file: str
    message: str
    line: int | None = None
    entry: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where]
        if self.entry:
            parts.append(f"entry {self.entry}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return printable(": ".join(parts) + f": {self.message}")


class RegistryError(ArchclassError):
    """A registry file that does not validate; carries every issue found."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        first = str(issues[0]) if issues else "invalid registry"
        more = f" (and {len(issues) - 1} more; run 'archclass validate' to see all)" if len(issues) > 1 else ""
        super().__init__(first + more)
