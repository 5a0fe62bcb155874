"""The registry: entries loaded from YAML, looked up by any name people use, classified once each.

Loading always validates every entry against the schema and checks that names and hybrid components
are unambiguous. The remaining checks (complexity strings, recipes, the theorem) either run for the
whole file at load (``full_check=True``, what ``validate`` and ``sync`` need) or for an entry when it
is first classified (``full_check=False``, what ``classify --arch X`` needs). Either way an entry is
parsed once and classified once per set of bound settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pydantic import ValidationError

from archclass import checks, classifier
from archclass.classifier import BoundSettings, Classification, Part
from archclass.errors import ArchclassError, Issue, RegistryError
from archclass.scaling import RECIPE, Problem, Readings
from archclass.schema import Architecture
from archclass.yamlio import LoadedYaml, YamlError, load_file, load_text

#: Maps (position of an entry in the list given to Registry, field path or None) to a line number.
Locator = Callable[[int, "str | None"], "int | None"]


class UnknownArchitectureError(ArchclassError):
    """A name no entry answers to; ``suggestions`` holds the ids of close names (maybe none)."""

    def __init__(self, name: str, suggestions: list[str], hint: str) -> None:
        super().__init__(f"unknown architecture {name!r}{hint}")
        self.name = name
        self.suggestions = suggestions


class Registry:
    """Validated entries, looked up by id, alias, name or implementation model type, with memoised
    parsing and classification.

    Raises RegistryError at construction when two entries answer to one name or a hybrid component
    does not name a single-layer-kind entry. ``path`` is the file the entries came from, if any.
    """

    def __init__(
        self,
        entries: Iterable[Architecture],
        path: Path | None = None,
        *,
        file: str | None = None,
        locate: Locator | None = None,
    ) -> None:
        given = list(entries)
        self.path = path
        self.file = file or (str(path) if path is not None else "<registry>")
        self._locate: Locator = locate or (lambda position, field_path: None)
        self.names, clashes = checks.name_findings(given)
        resolved, broken = checks.component_findings(given, self.names, {entry.id: entry for entry in given})
        findings = clashes + broken
        if findings:
            raise RegistryError([self._issue(f.position, given[f.position].id, f.problem) for f in findings])
        self.entries: list[Architecture] = resolved
        self._by_id = {entry.id: entry for entry in resolved}
        self._position = {entry.id: position for position, entry in enumerate(resolved)}
        self._checked: dict[str, checks.EntryCheck] = {}
        self._results: dict[tuple[str, BoundSettings], Classification] = {}

    # ------------------------------------------------------------------ lookup

    def __iter__(self) -> Iterator[Architecture]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.resolve(name) is not None

    def names_starting(self, prefix: str) -> list[str]:
        """Every id and alias that starts with PREFIX (case-insensitive), sorted: shell completion's answers."""
        names = (name for entry in self.entries for name in (entry.id, *entry.aliases))
        return sorted(name for name in names if name.casefold().startswith(prefix.casefold()))

    def resolve(self, name: str) -> str | None:
        """The id of the entry NAME refers to (ignoring case, spaces, '-', '_', '.'), or None."""
        return self.names.resolve(name)

    def get(self, name: str) -> Architecture:
        """The entry NAME refers to: its id, an alias, its name, or an implementation's model type.

        Raises UnknownArchitectureError, suggesting genuinely close names or else ``archclass list``.
        """
        entry_id = self.resolve(name)
        if entry_id is None:
            raise UnknownArchitectureError(name, self.names.suggestions(name), self.names.hint(name))
        return self._by_id[entry_id]

    def symbols(self, name: str) -> frozenset[str]:
        """The hyperparameters bound settings may override for NAME: a hybrid's include its components'."""
        entry = self.get(name)
        symbols = set(entry.hyperparameters)
        for component in entry.components or []:
            symbols |= set(self._by_id[component.arch].hyperparameters)
        return frozenset(symbols)

    # ------------------------------------------------------------------ checks

    def readings(self, name: str) -> Readings:
        """NAME's parsed scaling (fixed and recipe readings); empty readings for a hybrid."""
        return self._check(self.get(name).id).readings

    def issues(self, name: str | None = None) -> list[Issue]:
        """Located problems of one entry beyond the schema (complexity strings, recipe, arithmetic, the
        theorem), or, with no name, of every entry plus the order of the file: what ``validate`` adds."""
        if name is not None:
            return self._own_issues(self.get(name).id)
        issues = [issue for entry in self.entries for issue in self._own_issues(entry.id)]
        disorder = checks.order_finding(self.entries)
        if disorder:
            issues.append(self._issue(disorder.position, self.entries[disorder.position].id, disorder.problem))
        return issues

    def _check(self, entry_id: str) -> checks.EntryCheck:
        if entry_id not in self._checked:
            self._checked[entry_id] = checks.check_entry(self._by_id[entry_id])
        return self._checked[entry_id]

    def _own_issues(self, entry_id: str) -> list[Issue]:
        return [self._issue(self._position[entry_id], entry_id, p) for p in self._check(entry_id).problems]

    def _blocking_issues(self, entry: Architecture) -> list[Issue]:
        """Problems that stop ENTRY from being classified: its own and its components'."""
        issues = self._own_issues(entry.id)
        for component in entry.components or []:
            issues.extend(self._own_issues(component.arch))
        return issues

    def _issue(self, position: int, entry_id: str, problem: Problem) -> Issue:
        return Issue(self.file, problem.message, self._locate(position, problem.field), f"'{entry_id}'", problem.field)

    # ------------------------------------------------------------------ classification

    def classification(self, name: str, settings: BoundSettings | None = None) -> Classification:
        """Classify the entry NAME refers to, at SETTINGS (default: BoundSettings()), once per settings.

        Raises UnknownArchitectureError for an unknown name, SettingsError for an override of a symbol
        the entry does not declare (the message lists those it does), and RegistryError with located
        issues when the entry (or a component) fails its checks.
        """
        return self.classify_entry(self.get(name), settings)

    def classifications(self, settings: BoundSettings | None = None) -> list[Classification]:
        """Every entry classified, in registry order. An override must name a symbol of some entry
        (SettingsError lists them all otherwise); each entry uses the overrides of its own symbols."""
        settings = settings or BoundSettings()
        settings.check_symbols("the registry", set().union(*(entry.hyperparameters for entry in self.entries)))
        return [self._classify(entry, settings) for entry in self.entries]

    def classify_entry(self, entry: Architecture, settings: BoundSettings | None = None) -> Classification:
        """Classify ENTRY, which may also be an entry outside the registry (its components must be in it)."""
        settings = settings or BoundSettings()
        if self._by_id.get(entry.id) is not entry:
            return self._classify_outsider(entry, settings)
        settings.check_symbols(f"'{entry.id}'", self.symbols(entry.id))
        return self._classify(entry, settings)

    def _classify_outsider(self, entry: Architecture, settings: BoundSettings) -> Classification:
        [entry], broken = checks.component_findings([entry], self.names, self._by_id)
        check = checks.check_entry(entry)
        problems = [finding.problem for finding in broken] + list(check.problems)
        if problems:
            raise RegistryError([Issue("<entry>", p.message, None, f"'{entry.id}'", p.field) for p in problems])
        symbols = set(entry.hyperparameters)
        for component in entry.components or []:
            symbols |= set(self._by_id[component.arch].hyperparameters)
        settings.check_symbols(f"'{entry.id}'", symbols)
        blocking = [issue for c in entry.components or [] for issue in self._own_issues(c.arch)]
        if blocking:
            raise RegistryError(blocking)
        return self._compute(entry, check.readings, settings)

    def _classify(self, entry: Architecture, settings: BoundSettings) -> Classification:
        settings = settings.restricted(self.symbols(entry.id))
        key = (entry.id, settings)
        if key in self._results:
            return self._results[key]
        blocking = self._blocking_issues(entry)
        if blocking:
            raise RegistryError(blocking)
        check = self._check(entry.id)
        if check.result is not None and settings == checks.CHECK_SETTINGS:
            result = check.result
        else:
            result = self._compute(entry, check.readings, settings)
        self._results[key] = result
        return result

    def _compute(self, entry: Architecture, readings: Readings, settings: BoundSettings) -> Classification:
        if not entry.components:
            assert readings.fixed is not None
            fixed = classifier.classify_leaf(entry, readings.fixed, settings)
            if readings.recipe is not None:
                fixed.recipe = classifier.classify_leaf(entry, readings.recipe, settings)
            return fixed
        fixed_parts: list[Part] = []
        recipe_parts: list[Part] = []
        for component in entry.components:
            layer = self._by_id[component.arch]
            result = self._classify(layer, settings)
            readings = self._check(layer.id).readings
            assert readings.fixed is not None  # components are never hybrids
            fixed_parts.append(Part(layer, component.fraction, result, readings.fixed))
            recipe_parts.append(
                Part(layer, component.fraction, result.recipe or result, readings.recipe or readings.fixed)
            )
        hybrid = classifier.classify_hybrid(entry, fixed_parts, settings)
        if any(part.scaling.reading == RECIPE for part in recipe_parts):
            hybrid.recipe = classifier.classify_hybrid(entry, recipe_parts, settings)
        return hybrid


# ---------------------------------------------------------------------------- loading


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


def _entry_label(raw: object, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        entry_id = raw["id"]
        return f"'{entry_id}'" if len(entry_id) <= 64 else f"#{index + 1} ('{entry_id[:40]}...')"
    return f"#{index + 1}"


def _is_branch(part: object) -> bool:
    """A union branch pydantic names in an error's location ('str', 'Hyperparameter', 'function-after[...]')."""
    text = str(part)
    return text in ("str", "Hyperparameter") or text.startswith(("function-after[", "constrained-str"))


def _pydantic_issues(error: ValidationError, file: str, loaded: LoadedYaml, index: int, label: str) -> list[Issue]:
    problems = error.errors()
    # For a value that may be a string or a mapping, a mapping's errors matter, not "should be a string".
    mapping_branches = {
        tuple(p["loc"][: next(i for i, part in enumerate(p["loc"]) if _is_branch(part))])
        for p in problems
        if any(_is_branch(part) for part in p["loc"]) and p["type"] != "string_type"
    }
    issues = []
    for problem in problems:
        loc = problem["loc"]
        branch_at = next((i for i, part in enumerate(loc) if _is_branch(part)), None)
        if branch_at is not None and problem["type"] == "string_type" and tuple(loc[:branch_at]) in mapping_branches:
            continue
        field_path = ".".join(str(part) for part in loc if not _is_branch(part)) or None
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; CONTRIBUTING.md lists the fields)"
        elif problem["type"] == "missing":
            message = "required field is missing"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        issues.append(Issue(file, message, _location(loaded, index, field_path), label, field_path))
    return issues


def _build(loaded: LoadedYaml, file: str, path: Path | None, full_check: bool) -> tuple[Registry | None, list[Issue]]:
    """Validate LOADED into a Registry; with full_check every entry's problems are found now."""
    data = loaded.data
    if data is None:
        return None, [Issue(file, "the file is empty; it should be a list of architecture entries")]
    if not isinstance(data, list):
        return None, [Issue(file, f"the registry must be a YAML list of entries, not a {type(data).__name__}", 1)]
    entries: list[Architecture] = []
    file_index: list[int] = []
    issues: list[Issue] = []
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
        file_index.append(index)

    def locate(position: int, field_path: str | None) -> int | None:
        return _location(loaded, file_index[position], field_path)

    try:
        registry: Registry | None = Registry(entries, path, file=file, locate=locate)
    except RegistryError as error:
        registry = None
        issues.extend(error.issues)
    if not full_check:
        return registry, issues
    if registry is not None:
        issues.extend(registry.issues())
    else:
        # Names or components are broken; still report what each entry gets wrong on its own.
        for position, entry in enumerate(entries):
            for problem in checks.check_entry(entry).problems:
                issues.append(
                    Issue(file, problem.message, locate(position, problem.field), f"'{entry.id}'", problem.field)
                )
        disorder = checks.order_finding(entries)
        if disorder:
            problem = disorder.problem
            label = f"'{entries[disorder.position].id}'"
            issues.append(Issue(file, problem.message, locate(disorder.position, problem.field), label, problem.field))
    return registry, issues


def validate_data(loaded: LoadedYaml, file: str) -> tuple[list[Architecture], list[Issue]]:
    """Every problem of a loaded registry file (schema, names, components, strings, the theorem, order),
    and the entries that passed the schema."""
    registry, issues = _build(loaded, file, None, full_check=True)
    if registry is not None:
        return registry.entries, issues
    return _schema_valid(loaded), issues


def validate_file(path: Path) -> tuple[list[Architecture], list[Issue]]:
    """validate_data for the file at PATH; text that is not YAML at all is one issue at its line."""
    try:
        loaded = load_file(path)
    except YamlError as error:
        return [], [Issue(str(path), str(error), error.line)]
    return validate_data(loaded, str(path))


def _schema_valid(loaded: LoadedYaml) -> list[Architecture]:
    valid = []
    for raw in loaded.data if isinstance(loaded.data, list) else []:
        try:
            valid.append(Architecture.model_validate(raw))
        except ValidationError:
            continue
    return valid


def load_registry(path: Path | str | None = None, *, full_check: bool = True) -> Registry:
    """Load a registry file (default: $ARCHCLASS_REGISTRY, else the bundled one).

    Every entry is validated against the schema, and names and components are checked, always. With
    ``full_check`` (the default) every other check runs now too, as ``archclass validate`` does;
    without it each entry is checked when first classified, so looking up one entry costs one entry.
    Raises RegistryError listing every problem found.
    """
    from archclass.paths import registry_path

    file_path = Path(path) if path is not None else registry_path()
    name = str(file_path)
    try:
        loaded = load_file(file_path)
    except YamlError as error:
        raise RegistryError([Issue(name, str(error), error.line)]) from None
    registry, issues = _build(loaded, name, file_path, full_check)
    if issues or registry is None:
        raise RegistryError(issues)
    return registry


def registry_from_text(text: str, name: str = "<string>", *, full_check: bool = True) -> Registry:
    """Like load_registry, for registry text already in memory (NAME labels the messages)."""
    try:
        loaded = load_text(text)
    except YamlError as error:
        raise RegistryError([Issue(name, str(error), error.line)]) from None
    registry, issues = _build(loaded, name, None, full_check)
    if issues or registry is None:
        raise RegistryError(issues)
    return registry
