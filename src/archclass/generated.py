"""Files that archclass generates (the JSON Schema, Datasette's metadata, exports, probe results): written
with their folder, or checked against what would be written, so that a committed copy cannot go stale
unnoticed. Every failure is one ArchclassError line."""

from __future__ import annotations

from pathlib import Path

from archclass.errors import ArchclassError


def write_generated(path: Path, text: str) -> None:
    """Write TEXT to PATH as UTF-8, creating the folders above it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ArchclassError(f"cannot write {path}: {error.strerror or error}") from None


def is_current(path: Path, text: str) -> bool:
    """Whether PATH holds exactly TEXT; a missing or unreadable file does not."""
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def check_generated(path: Path, text: str, command: str) -> None:
    """Refuse PATH unless it holds exactly TEXT, naming the COMMAND that regenerates it."""
    if not is_current(path, text):
        raise ArchclassError(f"{path} is out of date; run '{command}'")
