"""A guarded YAML reader for hand-edited registry files.

PyYAML keeps the last of two repeated keys without a word and expands aliases on request, so a
hostile or careless file could hide a field or blow up into gigabytes; libyaml's composer recurses
once per nesting level and crashes the interpreter on a deeply nested file. This reader refuses all
three, reads only regular files of bounded size, and remembers the line of every entry and field, so
errors can point at them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 16 * 1024 * 1024
#: Deepest nesting of lists and mappings accepted; a registry entry needs four levels.
MAX_DEPTH = 32
BOM = "\ufeff"

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlError(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class _StrictLoader(_Base):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise YamlError(f"key {key!r} appears twice in one mapping (lines {seen[key]} and {line})", line)
            except TypeError:
                raise YamlError(f"a mapping key must be a plain value, not {type(key).__name__}", line) from None
            seen[key] = line
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: loader.construct_mapping(node, deep=True),
)


@dataclass
class LoadedYaml:
    data: Any
    entry_lines: list[int] = field(default_factory=list)
    field_lines: list[dict[str, int]] = field(default_factory=list)


def _marked(error: yaml.YAMLError) -> YamlError:
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        return YamlError(f"malformed YAML: {error.problem or error.context}", mark.line + 1 if mark else None)
    return YamlError(f"malformed YAML: {error}")


def _scan(text: str) -> None:
    """Refuse aliases and deep nesting from the event stream (libyaml parses it iteratively), before
    anything recursive sees the text; an alias is located where it is used."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Base):
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.AliasEvent):
                raise YamlError("YAML anchors and aliases (&name / *name) are not allowed in the registry", line)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlError(f"lists and mappings are nested more than {MAX_DEPTH} levels deep", line)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as error:
        marked = _marked(error)
        if "maximum nesting depth" in str(error):  # PyYAML 6.0.4's own limit, met while scanning ahead
            raise YamlError(f"lists and mappings are nested more than {MAX_DEPTH} levels deep", marked.line) from None
        raise marked from None


def _field_lines(node: yaml.Node, prefix: str = "") -> dict[str, int]:
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                name = f"{prefix}{key.value}"
                lines[name] = key.start_mark.line + 1
                lines.update(_field_lines(value, name + "."))
    return lines


def check_text(text: str) -> None:
    """Refuse text too large, too deeply nested or using aliases; YamlError says why and where."""
    if len(text) > MAX_BYTES or len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise YamlError(f"file is larger than the {MAX_BYTES // 2**20} MiB limit; the registry should be far smaller")
    _scan(text)


def load_text(text: str) -> LoadedYaml:
    """Parse registry text: one document, no aliases, no repeated keys, bounded size and depth."""
    text = text.removeprefix(BOM)
    check_text(text)
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return LoadedYaml(None)
        data = loader.construct_document(root)
    except yaml.YAMLError as error:
        raise _marked(error) from None
    finally:
        loader.dispose()
    loaded = LoadedYaml(data)
    if isinstance(root, yaml.SequenceNode):
        loaded.entry_lines = [item.start_mark.line + 1 for item in root.value]
        loaded.field_lines = [_field_lines(item) for item in root.value]
    return loaded


def read_text(path: Path) -> str:
    """A registry file's text: a regular file of at most MAX_BYTES, UTF-8, a leading BOM dropped.

    Devices, FIFOs and directories are refused before anything is read from them (a FIFO is opened
    non-blocking, so a writer that never comes cannot hang the reader), and no more than
    MAX_BYTES + 1 bytes are ever read, whatever the file claims its size is.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise YamlError(f"cannot read: {error.strerror}") from None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            kind = "a directory" if stat.S_ISDIR(status.st_mode) else "not a regular file"
            raise YamlError(f"cannot read: {kind}; give a registry YAML file")
        if status.st_size > MAX_BYTES:
            raise YamlError(f"file is {status.st_size / 2**20:.1f} MiB, larger than the {MAX_BYTES // 2**20} MiB limit")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise YamlError(f"cannot read: {error.strerror}") from None
    finally:
        os.close(descriptor)
    if len(data) > MAX_BYTES:
        raise YamlError(f"file is larger than the {MAX_BYTES // 2**20} MiB limit")
    try:
        return data.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise YamlError(f"file is not UTF-8 text (byte 0x{data[error.start]:02x} cannot be decoded)", line) from None


def load_file(path: Path) -> LoadedYaml:
    """read_text, then load_text."""
    return load_text(read_text(path))
