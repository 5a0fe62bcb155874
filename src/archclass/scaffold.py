"""Scaffold a registry entry and insert it in sorted place, writing nothing unless the registry still validates.

This is what `archclass add` does; the command only gathers the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError, RegistryError
from archclass.keyvalue import parse_pairs


@dataclass
class NewEntry:
    """The fields of a new entry. A hybrid has components instead of compute, state and retrieval."""

    id: str
    name: str
    year: int
    arxiv: str
    family: str
    summary: str
    evidence: str
    aliases: list[str] = field(default_factory=list)
    compute: str | None = None
    state: str | None = None
    retrieval: str | None = None
    components: dict[str, float] = field(default_factory=dict)
    hyperparameters: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    confidence: str = "medium"


def parse_hyperparameters(items: list[str]) -> dict[str, tuple[str, float | None]]:
    """`SYMBOL=MEANING[:VALUE]` items, e.g. `w=window size:4096`, to {symbol: (meaning, value)}."""
    return parse_pairs(items, "--hyper", "w='window size:4096'", convert=_meaning_and_value, what="MEANING[:VALUE]")


def _meaning_and_value(text: str) -> tuple[str, float | None]:
    meaning, sep, value = text.rpartition(":")
    if not sep:
        return text, None
    try:
        number = float(value)
    except ValueError:
        return text, None  # a colon inside the meaning, not a value
    return meaning.strip(), int(number) if number.is_integer() else number


def parse_components(items: list[str]) -> dict[str, float]:
    """`ARCH=FRACTION` items, e.g. `mamba=0.875`, to {arch: fraction}."""
    return parse_pairs(items, "--component", "mamba=0.875", convert=float, what="FRACTION")


def entry_text(new: NewEntry) -> str:
    """The entry as the registry writes it: canonical key order, flow style for short mappings."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    from archclass.fmt import canonical_entry, dump_entry

    def flow(node: Any) -> Any:
        node.fa.set_flow_style()
        return node

    entry = CommentedMap(id=new.id, name=new.name)
    if new.aliases:
        entry["aliases"] = flow(CommentedSeq(new.aliases))
    entry.update(year=new.year, arxiv=SingleQuotedScalarString(new.arxiv), family=new.family, summary=new.summary)
    if new.components:
        entry["components"] = flow(
            CommentedSeq(flow(CommentedMap(arch=arch, fraction=share)) for arch, share in new.components.items())
        )
    else:
        entry["inference"] = CommentedMap(
            per_step_compute=new.compute, state_size=new.state, retrieval=new.retrieval, precision="fixed"
        )
    if new.hyperparameters:
        entry["hyperparameters"] = CommentedMap(
            (symbol, flow(CommentedMap(meaning=meaning, **({"value": value} if value is not None else {}))))
            for symbol, (meaning, value) in new.hyperparameters.items()
        )
    entry.update(evidence=new.evidence, confidence=new.confidence)
    return dump_entry(canonical_entry(entry))


def insert_sorted(text: str, new_text: str, new_id: str) -> str:
    """Insert an entry's text before the first entry whose id sorts after it; touch nothing else."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("- id:")]
    for index in starts:
        existing = lines[index].split(":", 1)[1].strip().strip("'\"")
        if existing == new_id:
            raise ArchclassError(f"an entry with id {new_id!r} already exists")
        if existing > new_id:
            return "".join(lines[:index]) + new_text + "\n" + "".join(lines[index:])
    body = "".join(lines)
    if body and not body.endswith("\n"):
        body += "\n"
    return body + ("\n" if starts else "") + new_text


def add_entry(path: Path, new: NewEntry) -> int:
    """Insert NEW into the registry at PATH and return the number of entries; raise RegistryError (and
    write nothing) when the registry would not validate with it."""
    from archclass.registry import validate_data
    from archclass.yamlio import YamlError, load_text

    original = path.read_text(encoding="utf-8") if path.exists() else ""
    updated = insert_sorted(original, entry_text(new), new.id)
    try:
        entries, issues = validate_data(load_text(updated), str(path))
    except YamlError as error:
        raise ArchclassError(f"{path}: {error}") from None
    if issues:
        raise RegistryError(issues)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(updated, encoding="utf-8")
    temporary.replace(path)
    return len(entries)
