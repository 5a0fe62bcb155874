"""Names as people write them: 'Retentive Network', 'mamba 2', 'qwen3_next' all find their entry.

Every name an entry answers to (its id, its aliases, its name as the paper writes it, and the model
types of its deployed implementations) is reduced to one key: Unicode-normalised, case-folded, with
spaces, underscores, hyphens and dots dropped. A key owned by two entries is ambiguous, which the
registry refuses. An unknown name gets suggestions only when they are genuinely close: the letters
of the name must nearly match, so 'llama-3' is not offered 'mamba-3' and 'gpt-4' is not offered 'gpt-oss'.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archclass.schema import Architecture

_SEPARATORS = re.compile(r"[\s_.\-]+")
#: How alike the letters of an unknown name and a known one must be to suggest it (difflib ratio).
STEM_SIMILARITY = 0.8
MAX_SUGGESTIONS = 3


def normalise(name: str) -> str:
    """The lookup key of NAME: NFKC, case-folded, without spaces, '_', '-' and '.'."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", name).casefold())


def _letters(key: str) -> str:
    return "".join(char for char in key if char.isalpha())


def _digits(key: str) -> str:
    return "".join(char for char in key if char.isdigit())


@dataclass(frozen=True)
class NameClaim:
    """One name an entry answers to, and the field it comes from (for locating a clash)."""

    entry_id: str
    name: str
    field: str


@dataclass(frozen=True)
class Clash:
    """A name that two entries answer to."""

    claim: NameClaim
    owner: str
    owner_field: str
    position: int  # of the entry making the second claim, in the list indexed

    def message(self) -> str:
        where = "" if self.owner_field == "id" else f" (its {self.owner_field})"
        return (
            f"{_kind(self.claim.field)} {self.claim.name!r} is already used by entry '{self.owner}'{where}; "
            "names are matched ignoring case, spaces, '-', '_' and '.', so each must belong to one entry"
        )


def _kind(field_path: str) -> str:
    return {"id": "id", "name": "name", "aliases": "alias"}.get(field_path, "model type")


def claims(entry: Architecture) -> Iterator[NameClaim]:
    """Every name ENTRY answers to, id first."""
    yield NameClaim(entry.id, entry.id, "id")
    for alias in entry.aliases:
        yield NameClaim(entry.id, alias, "aliases")
    yield NameClaim(entry.id, entry.name, "name")
    for library, model_types in (entry.implementations or {}).items():
        for model_type in model_types:
            yield NameClaim(entry.id, model_type, f"implementations.{library}")


@dataclass
class NameIndex:
    """Normalised name -> the id of the entry that answers to it."""

    owners: dict[str, str] = field(default_factory=dict)
    _fields: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, entries: Iterable[Architecture]) -> tuple[NameIndex, list[Clash]]:
        """The index of ENTRIES' names, and every name claimed by a second entry (the first keeps it)."""
        index = cls()
        clashes: list[Clash] = []
        claimed_by: dict[str, int] = {}  # key -> position of the entry that owns it
        for position, entry in enumerate(entries):
            for claim in claims(entry):
                key = normalise(claim.name)
                if key not in claimed_by:
                    claimed_by[key] = position
                    index.owners[key] = claim.entry_id
                    index._fields[key] = claim.field
                elif claimed_by[key] != position:
                    clashes.append(Clash(claim, index.owners[key], index._fields[key], position))
        return index, clashes

    def resolve(self, name: str) -> str | None:
        """The id of the entry NAME refers to, or None."""
        return self.owners.get(normalise(name))

    def suggestions(self, name: str) -> list[str]:
        """Ids of entries whose names are close to NAME, closest first; empty when none is close.

        Close means the letters match (then only those are offered: 'jamba 1.5' gets 'jamba', not
        'mamba'), or else nearly match, as a typo does ('retnett'). Digits never make a name close.
        """
        key = normalise(name)
        letters, digits = _letters(key), _digits(key)
        if not letters:
            return []
        same: dict[str, float] = {}
        near: dict[str, float] = {}
        for known, owner in self.owners.items():
            known_letters = _letters(known)
            if not known_letters:
                continue
            if digits and _digits(known) and _digits(known) != digits:
                continue  # gpt-4 is not gpt2, nor mamba-3 llama-3: a different number is another model
            if known_letters == letters:
                group = same
            elif digits:
                continue  # a name with a version number is not a typo of a near-spelt one
            elif difflib.SequenceMatcher(None, letters, known_letters).ratio() >= STEM_SIMILARITY:
                group = near
            else:
                continue
            group[owner] = max(difflib.SequenceMatcher(None, key, known).ratio(), group.get(owner, 0.0))
        scored = same or near
        return sorted(scored, key=lambda owner: (-scored[owner], owner))[:MAX_SUGGESTIONS]

    def hint(self, name: str) -> str:
        """'; did you mean ...?' for a close name, else where to find them all."""
        close = self.suggestions(name)
        if close:
            return f"; did you mean {', '.join(repr(c) for c in close)}?"
        return "; 'archclass list' shows them all"
