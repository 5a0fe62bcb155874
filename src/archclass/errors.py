"""Errors that reach the user as one line, never as a traceback."""

from __future__ import annotations

from dataclasses import dataclass


class ArchclassError(Exception):
    """A problem with the user's input or data; the CLI prints it and exits with code 1."""


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
        return ": ".join(parts) + f": {self.message}"


class RegistryError(ArchclassError):
    """A registry file that does not validate; carries every issue found."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        first = str(issues[0]) if issues else "invalid registry"
        more = f" (and {len(issues) - 1} more; run 'archclass validate' to see all)" if len(issues) > 1 else ""
        super().__init__(first + more)
