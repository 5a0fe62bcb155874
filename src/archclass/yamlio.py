"""A safe YAML reader for hand-edited registry files.

PyYAML keeps the last of two repeated keys without a word and expands aliases on request, so a
hostile or careless file could hide a field or blow up into gigabytes. This reader refuses both and
remembers the line of every entry and field, so errors can point at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 16 * 1024 * 1024

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


def _refuse_aliases(root: yaml.Node) -> None:
    """Aliases make a DAG out of the node tree; a node reached twice is an alias."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise YamlError(
                "YAML anchors and aliases (&name / *name) are not allowed in the registry", node.start_mark.line + 1
            )
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))


def _field_lines(node: yaml.Node, prefix: str = "") -> dict[str, int]:
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                name = f"{prefix}{key.value}"
                lines[name] = key.start_mark.line + 1
                lines.update(_field_lines(value, name + "."))
    return lines


def load_text(text: str) -> LoadedYaml:
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise YamlError(f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB; the registry should be far smaller")
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return LoadedYaml(None)
        _refuse_aliases(root)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise YamlError(f"malformed YAML: {error.problem or error.context}", line) from None
    except yaml.YAMLError as error:
        raise YamlError(f"malformed YAML: {error}") from None
    finally:
        loader.dispose()
    loaded = LoadedYaml(data)
    if isinstance(root, yaml.SequenceNode):
        loaded.entry_lines = [item.start_mark.line + 1 for item in root.value]
        loaded.field_lines = [_field_lines(item) for item in root.value]
    return loaded


def load_file(path: Path) -> LoadedYaml:
    try:
        size = path.stat().st_size
    except OSError as error:
        raise YamlError(f"cannot read: {error.strerror}") from None
    if size > MAX_BYTES:
        raise YamlError(f"file is {size / 2**20:.1f} MiB, larger than the {MAX_BYTES // 2**20} MiB limit")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise YamlError("file is not UTF-8 text") from None
    except OSError as error:
        raise YamlError(f"cannot read: {error.strerror}") from None
    return load_text(text)
