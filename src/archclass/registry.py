"""Load and validate the registry: schema, complexity strings, references between entries, the theorem."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from archclass import complexity
from archclass.errors import ArchclassError, Issue, RegistryError
from archclass.schema import Architecture
from archclass.yamlio import LoadedYaml, YamlError, load_file, load_text


@dataclass
class Registry:
    """The validated entries of one registry file, with lookup by id or alias."""

    entries: list[Architecture]
    path: Path | None = None
    _index: dict[str, Architecture] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for entry in self.entries:
            for name in (entry.id, *entry.aliases):
                self._index.setdefault(name.casefold(), entry)

    def __iter__(self) -> Iterator[Architecture]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.casefold() in self._index

    def get(self, name: str) -> Architecture:
        """Entry by id or alias, case-insensitively; an unknown name suggests close matches."""
        entry = self._index.get(name.strip().casefold())
        if entry is None:
            close = difflib.get_close_matches(name.casefold(), list(self._index), n=3, cutoff=0.6)
            hint = (
                f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; 'archclass list' shows them all"
            )
            raise ArchclassError(f"unknown architecture {name!r}{hint}")
        return entry


def _location(loaded: LoadedYaml, index: int, field_path: str | None) -> int | None:
    if index >= len(loaded.entry_lines):
        return None
    if field_path and index < len(loaded.field_lines):
        lines = loaded.field_lines[index]
        while field_path:
            if field_path in lines:
                return lines[field_path]
            field_path = field_path.rpartition(".")[0]
    return loaded.entry_lines[index]


def _entry_label(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f"'{raw['id']}'"
    return f"#{index + 1}"


def _pydantic_issues(error: ValidationError, file: str, loaded: LoadedYaml, index: int, label: str) -> list[Issue]:
    issues = []
    for problem in error.errors():
        # Drop the union-branch names pydantic inserts ('str', 'Hyperparameter') from the location.
        loc = [
            str(part)
            for part in problem["loc"]
            if part not in ("str", "Hyperparameter", "function-after[_shape(), Architecture]")
        ]
        field_path = ".".join(loc) or None
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; CONTRIBUTING.md lists the fields)"
        elif problem["type"] == "missing":
            message = "required field is missing"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        issues.append(Issue(file, message, _location(loaded, index, field_path), label, field_path))
    return issues


def validate_data(loaded: LoadedYaml, file: str) -> tuple[list[Architecture], list[Issue]]:
    """Schema-validate every entry, then check the registry as a whole."""
    data = loaded.data
    if data is None:
        return [], [Issue(file, "the file is empty; it should be a list of architecture entries")]
    if not isinstance(data, list):
        return [], [Issue(file, f"the registry must be a YAML list of entries, not a {type(data).__name__}", 1)]
    entries: list[Architecture] = []
    issues: list[Issue] = []
    positions: dict[str, int] = {}
    for index, raw in enumerate(data):
        label = _entry_label(raw, index)
        if not isinstance(raw, dict):
            issues.append(Issue(file, "an entry must be a mapping of fields", _location(loaded, index, None), label))
            continue
        try:
            entry = Architecture.model_validate(raw)
        except ValidationError as error:
            issues.extend(_pydantic_issues(error, file, loaded, index, label))
            continue
        entries.append(entry)
        positions[entry.id] = index
    issues.extend(
        check_registry(entries, file, lambda entry_id, field_path: _location(loaded, positions[entry_id], field_path))
    )
    return entries, issues


def check_registry(entries: list[Architecture], file: str, locate: Any = None) -> list[Issue]:
    """Checks that need the whole registry: unique names, complexity strings, hybrids, the theorem."""
    from archclass.classify import TheoremViolation, classify_entry

    def issue(entry: Architecture, field_path: str | None, message: str) -> Issue:
        line = locate(entry.id, field_path) if locate else None
        return Issue(file, message, line, f"'{entry.id}'", field_path)

    issues: list[Issue] = []
    owners: dict[str, str] = {}
    for entry in entries:
        for kind, name in [("id", entry.id)] + [("alias", alias) for alias in entry.aliases]:
            key = name.casefold()
            if key in owners:
                field_path = "id" if kind == "id" else "aliases"
                issues.append(issue(entry, field_path, f"{kind} {name!r} is already used by entry '{owners[key]}'"))
            else:
                owners[key] = entry.id
    ids = [entry.id for entry in entries]
    if ids != sorted(ids):
        first = next(b for a, b in zip(ids, ids[1:], strict=False) if b < a)
        issues.append(Issue(file, f"entries are not sorted by id (first out of place: '{first}'); run 'archclass fmt'"))

    by_id = {entry.id: entry for entry in entries}
    for entry in entries:
        declared = set(entry.hyperparameters)
        if entry.inference is not None:
            for name in ("per_step_compute", "state_size"):
                try:
                    complexity.parse(getattr(entry.inference, name), declared)
                except complexity.ComplexityError as error:
                    issues.append(issue(entry, f"inference.{name}", str(error)))
            if entry.inference.state_scalars is not None:
                try:
                    complexity.parse_formula(entry.inference.state_scalars, declared)
                except complexity.ComplexityError as error:
                    issues.append(issue(entry, "inference.state_scalars", str(error)))
        for component in entry.components or []:
            if component.arch not in by_id:
                close = difflib.get_close_matches(component.arch, list(by_id), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                issues.append(issue(entry, "components", f"component {component.arch!r} is not a registry id{hint}"))
        if entry.components:
            cycle = _find_cycle(entry.id, by_id)
            if cycle:
                issues.append(issue(entry, "components", "hybrid components form a cycle: " + " -> ".join(cycle)))
    if issues:
        return issues
    registry = Registry(entries)
    for entry in entries:
        try:
            classify_entry(entry, registry)
        except TheoremViolation as error:
            field_path = "inference.retrieval" if entry.inference else "components"
            issues.append(issue(entry, field_path, str(error)))
        except complexity.ComplexityError as error:
            issues.append(issue(entry, None, str(error)))
    return issues


def _find_cycle(start: str, by_id: dict[str, Architecture]) -> list[str] | None:
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        entry = by_id.get(node)
        if entry is None or not entry.components:
            return None
        path.append(node)
        for component in entry.components:
            found = visit(component.arch)
            if found:
                return found
        path.pop()
        return None

    return visit(start)


def load_registry(path: Path | str | None = None) -> Registry:
    """Load and fully validate a registry file; raise RegistryError listing every problem."""
    from archclass.paths import registry_path

    file_path = Path(path) if path is not None else registry_path()
    name = str(file_path)
    try:
        loaded = load_file(file_path)
    except YamlError as error:
        raise RegistryError([Issue(name, str(error), error.line)]) from None
    entries, issues = validate_data(loaded, name)
    if issues:
        raise RegistryError(issues)
    return Registry(entries, file_path)


def registry_from_text(text: str, name: str = "<string>") -> Registry:
    try:
        loaded = load_text(text)
    except YamlError as error:
        raise RegistryError([Issue(name, str(error), error.line)]) from None
    entries, issues = validate_data(loaded, name)
    if issues:
        raise RegistryError(issues)
    return Registry(entries)
