"""Canonical formatting of the registry file, keeping every comment.

Canonical means: the header comment block, then the entries sorted by id, each entry's keys in schema
order, one blank line between entries, long strings on one line, UTF-8 without a byte-order mark.
Two pull requests that each add an entry then touch disjoint lines and rarely conflict.

The text goes through the same guarded reader as ``validate`` first (regular files only, bounded size
and nesting, no aliases or repeated keys), and the result is compared with the input comment by
comment: fmt refuses rather than drop one.
"""

from __future__ import annotations

import difflib
import functools
import io
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError, Issue, RegistryError
from archclass.schema import ENTRY_KEY_ORDER, INFERENCE_KEY_ORDER
from archclass.yamlio import BOM, YamlError, load_text, read_text

#: The round-trip parser that keeps comments is pure Python and far slower than the loader (about
#: 10 s a MiB), so fmt takes smaller files than validate; the registry is a few hundred KiB.
MAX_BYTES = 2 * 1024 * 1024


class _Verbatim(str):
    """A number kept exactly as written, with its YAML tag: ruamel re-renders the numbers it loads
    and gets some wrong (2.943780850162192e-224 comes back as ...191e-224), and fmt must change no data."""

    tag: str = ""


@functools.cache
def _round_trip_classes() -> tuple[type, type]:
    from ruamel.yaml.constructor import RoundTripConstructor
    from ruamel.yaml.representer import RoundTripRepresenter

    class Constructor(RoundTripConstructor):  # type: ignore[misc]
        pass

    class Representer(RoundTripRepresenter):  # type: ignore[misc]
        pass

    def construct(constructor: Any, node: Any) -> _Verbatim:
        number = _Verbatim(node.value)
        number.tag = node.tag
        return number

    for tag in ("tag:yaml.org,2002:float", "tag:yaml.org,2002:int"):
        Constructor.add_constructor(tag, construct)
    Representer.add_representer(_Verbatim, lambda representer, data: representer.represent_scalar(data.tag, data))
    return Constructor, Representer


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.Constructor, yaml.Representer = _round_trip_classes()
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


def _refuse(source: str, message: str, line: int | None = None) -> RegistryError:
    return RegistryError([Issue(source, message, line)])


def format_text(text: str, source: str = "registry") -> str:
    """The canonical form of a registry file's text.

    Raises RegistryError (one located line) for text fmt cannot rewrite safely: too large, malformed or
    hostile YAML, not a list of mappings with string ids, or a comment the rewrite would lose.
    """
    from ruamel.yaml.error import YAMLError

    text = text.removeprefix(BOM)
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise _refuse(source, f"file is larger than the {MAX_BYTES // 2**20} MiB fmt rewrites; split or trim it")
    try:
        load_text(text)
    except YamlError as error:
        raise _refuse(source, str(error), error.line) from None
    header, body = _split_header(text)
    try:
        data = _yaml().load(body) if body.strip() else []
    except (YAMLError, RecursionError) as error:
        raise _refuse(source, f"malformed YAML: {str(error).splitlines()[0] if str(error) else 'too deep'}") from None
    if data is None:
        data = []
    if not isinstance(data, list) or not all(hasattr(item, "get") for item in data):
        raise _refuse(source, "the registry must be a list of mappings; fix it, then run fmt")
    missing = [
        index + 1
        for index, item in enumerate(data)
        if not isinstance(item.get("id"), str) or isinstance(item.get("id"), _Verbatim)
    ]
    if missing:
        raise _refuse(source, f"entry #{missing[0]} has no string 'id'; fmt sorts by id")
    entries = sorted((canonical_entry(item) for item in data), key=lambda item: item["id"])
    parts = [dump_entry(entry) for entry in entries]
    prefix = header + "\n\n" if header else ""
    formatted = prefix + "\n".join(parts)
    _refuse_lost_comments(text, formatted, source)
    return formatted


_BLOCK_SCALAR = re.compile(r"(?:^|[:-])\s*[|>][0-9+-]*\s*$")


def comments(text: str) -> Counter[tuple[str, int]]:
    """The comments of YAML TEXT, as (comment, line), each counted once.

    A '#' starts a comment at the start of a line or after a space, outside quoted scalars and block
    scalars ('|' or '>'); a quote opens a quoted scalar only where a value or key can start. That is
    all the registry's style uses, and the same reading of input and output is what fmt compares.
    """
    found: Counter[tuple[str, int]] = Counter()
    quote: str | None = None
    block_indent: int | None = None  # inside a block scalar: lines indented more than this
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if block_indent is not None:
            if not stripped or indent > block_indent:
                continue
            block_indent = None
        code_end = len(line)
        position = 0
        while position < len(line):
            char = line[position]
            if quote == "'":
                if char == "'" and line[position + 1 : position + 2] == "'":
                    position += 1
                elif char == "'":
                    quote = None
            elif quote == '"':
                if char == "\\":
                    position += 1
                elif char == '"':
                    quote = None
            elif char == "#" and (position == 0 or line[position - 1] in " \t"):
                found[(line[position + 1 :].strip(), number)] += 1
                code_end = position
                break
            elif char in "'\"" and line[:position].rstrip()[-1:] in ("", ":", "-", "[", "{", ","):
                quote = char
            position += 1
        if quote is None and _BLOCK_SCALAR.search(line[:code_end]):
            block_indent = indent
    return found


def _refuse_lost_comments(original: str, formatted: str, source: str) -> None:
    before = Counter(text for text, _ in comments(original).elements())
    after = Counter(text for text, _ in comments(formatted).elements())
    lost = before - after
    if lost:
        lines = {text: line for text, line in comments(original)}
        first = min(lost, key=lambda text: lines[text])
        raise _refuse(
            source,
            f"fmt would drop the comment '# {first[:60]}'; move it onto its own line above an entry, then run fmt",
            lines[first],
        )


def read(path: Path) -> str:
    """A registry file's text through the guarded reader; RegistryError when it cannot be read."""
    try:
        return read_text(path)
    except YamlError as error:
        raise _refuse(str(path), str(error), error.line) from None


def check(path: Path) -> str | None:
    """A unified diff from the file to its canonical form, or None when it is canonical."""
    text = read(path)
    formatted = format_text(text, str(path))
    if formatted == text and not _has_bom(path):
        return None
    diff = difflib.unified_diff(
        text.splitlines(keepends=True), formatted.splitlines(keepends=True), str(path), f"{path} (canonical)"
    )
    return "".join(diff) or f"--- {path}\n+++ {path} (canonical)\n(the byte-order mark is removed)\n"


def rewrite(path: Path) -> bool:
    """Rewrite the file canonically, atomically; True when it changed."""
    text = read(path)
    formatted = format_text(text, str(path))
    if formatted == text and not _has_bom(path):
        return False
    temporary = path.with_name(path.name + ".fmt.tmp")
    try:
        temporary.write_text(formatted, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ArchclassError(f"{path}: cannot write: {error.strerror}") from None
    return True


def _has_bom(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(3) == BOM.encode("utf-8")
