"""Canonical formatting of the registry file, keeping comments.

Canonical means: the header comment block, then the entries sorted by id, each entry's keys in schema
order, one blank line between entries, long strings on one line. Two pull requests that each add an
entry then touch disjoint lines and rarely conflict.
"""

from __future__ import annotations

import difflib
import io
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError
from archclass.schema import ENTRY_KEY_ORDER, INFERENCE_KEY_ORDER


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml


def _split_header(text: str) -> tuple[str, str]:
    """The leading block of comments and blank lines, and the rest."""
    lines = text.splitlines(keepends=True)
    cut = 0
    for index, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        cut = index + 1
    return "".join(lines[:cut]).rstrip("\n"), "".join(lines[cut:])


def _reordered(mapping: Any, order: tuple[str, ...]) -> Any:
    from ruamel.yaml.comments import CommentedMap

    result = CommentedMap()
    known = [key for key in order if key in mapping]
    unknown = [key for key in mapping if key not in order]  # kept, in place at the end; validate flags them
    for key in known + unknown:
        result[key] = mapping[key]
        if key in mapping.ca.items:
            result.ca.items[key] = mapping.ca.items[key]
    if getattr(mapping.fa, "_flow_style", None):
        result.fa.set_flow_style()
    return result


def _strip_trailing_blank_comments(node: Any) -> None:
    """ruamel stores the blank line after an entry as a comment on its last value; drop those."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap) and node:
        last = list(node.keys())[-1]
        _strip_trailing_blank_comments(node[last])
        entry = node.ca.items.get(last)
        if entry and len(entry) > 2 and entry[2] is not None and not entry[2].value.strip("\n").strip():
            entry[2] = None
            if not any(entry):
                del node.ca.items[last]
        if entry and len(entry) > 2 and entry[2] is not None:
            entry[2].value = entry[2].value.rstrip("\n") + "\n"
    elif isinstance(node, CommentedSeq) and node:
        _strip_trailing_blank_comments(node[-1])
        entry = node.ca.items.get(len(node) - 1)
        if entry and entry[0] is not None and not entry[0].value.strip():
            entry[0] = None


def canonical_entry(entry: Any) -> Any:
    from ruamel.yaml.comments import CommentedMap

    canonical = _reordered(entry, ENTRY_KEY_ORDER)
    if isinstance(canonical.get("inference"), CommentedMap):
        canonical["inference"] = _reordered(canonical["inference"], INFERENCE_KEY_ORDER)
    _strip_trailing_blank_comments(canonical)
    return canonical


def dump_entry(entry: Any) -> str:
    from ruamel.yaml.comments import CommentedSeq

    stream = io.StringIO()
    seq = CommentedSeq([entry])
    _yaml().dump(seq, stream)
    return stream.getvalue().rstrip("\n") + "\n"


def format_text(text: str, source: str = "registry") -> str:
    """Return the canonical form of a registry file's text."""
    from ruamel.yaml.error import YAMLError

    header, body = _split_header(text)
    try:
        data = _yaml().load(body) if body.strip() else []
    except YAMLError as error:
        raise ArchclassError(f"{source}: malformed YAML: {str(error).splitlines()[0]}") from None
    if data is None:
        data = []
    if not isinstance(data, list) or not all(hasattr(item, "get") for item in data):
        raise ArchclassError(f"{source}: the registry must be a list of mappings; fix it, then run fmt")
    missing = [index + 1 for index, item in enumerate(data) if not isinstance(item.get("id"), str)]
    if missing:
        raise ArchclassError(f"{source}: entry #{missing[0]} has no string 'id'; fmt sorts by id")
    entries = sorted((canonical_entry(item) for item in data), key=lambda item: item["id"])
    parts = [dump_entry(entry) for entry in entries]
    prefix = header + "\n\n" if header else ""
    return prefix + "\n".join(parts)


def check(path: Path) -> str | None:
    """A unified diff from the file to its canonical form, or None when it is canonical."""
    text = path.read_text(encoding="utf-8")
    formatted = format_text(text, str(path))
    if formatted == text:
        return None
    diff = difflib.unified_diff(
        text.splitlines(keepends=True), formatted.splitlines(keepends=True), str(path), f"{path} (canonical)"
    )
    return "".join(diff)
