"""What a registry must satisfy beyond the schema, as findings the registry locates in its file.

Per entry: its complexity strings and recipe parse, evaluate to finite numbers at the default
settings, and do not claim what the theorem forbids. Across entries: every name belongs to one
entry, every hybrid component names a registry entry that is not itself a hybrid, entries are
sorted by id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from archclass import classifier, scaling
from archclass.classifier import BoundSettings, Classification, TheoremViolation
from archclass.complexity import ComplexityError
from archclass.names import NameIndex
from archclass.scaling import FIXED, Problem, Readings, Scaling
from archclass.schema import Architecture

#: The settings an entry is checked at: the classifier's defaults, a 7B-class model at T = 2^20.
CHECK_SETTINGS = BoundSettings()


@dataclass(frozen=True)
class Finding:
    """A problem of the entry at ``position`` in the list checked."""

    position: int
    problem: Problem


@dataclass(frozen=True)
class EntryCheck:
    """One entry's parsed readings, its problems, and (a leaf without problems) its classification at
    CHECK_SETTINGS, which the theorem check computed anyway and the registry keeps."""

    readings: Readings
    problems: tuple[Problem, ...]
    result: Classification | None = None


def check_entry(entry: Architecture) -> EntryCheck:
    """Everything about ENTRY that needs no other entry."""
    readings = scaling.read(entry)
    if readings.problems or readings.fixed is None:
        return EntryCheck(readings, readings.problems)
    problems = _arithmetic(entry, readings.fixed) + (_arithmetic(entry, readings.recipe) if readings.recipe else [])
    if problems:
        return EntryCheck(readings, tuple(problems))
    try:
        fixed = classifier.classify_leaf(entry, readings.fixed, CHECK_SETTINGS)
        recipe = classifier.classify_leaf(entry, readings.recipe, CHECK_SETTINGS) if readings.recipe else None
    except TheoremViolation as error:
        return EntryCheck(readings, (Problem(error.field, str(error)),))
    fixed.recipe = recipe
    return EntryCheck(readings, (), fixed)


def _arithmetic(entry: Architecture, reading: Scaling) -> list[Problem]:
    """Each string must be a finite number wherever all its symbols have values (overflow, 0 divisors)."""
    values = {"d": CHECK_SETTINGS.d, "T": CHECK_SETTINGS.length, **entry.hyperparameter_values()}
    problems = []
    strings = {
        "per_step_compute": reading.per_step_compute,
        "state_size": reading.state_size,
        "state_scalars": reading.state_scalars,
    }
    for name, expression in strings.items():
        if expression is None or not expression.symbols <= values.keys():
            continue
        try:
            expression.evaluate(values)
        except ComplexityError as error:
            where = f"inference.{name}" if reading.reading == FIXED else "recipe"
            problems.append(Problem(where, str(error)))
    return problems


def name_findings(entries: Sequence[Architecture]) -> tuple[NameIndex, list[Finding]]:
    """The index of every name, and each name that a second entry also claims."""
    index, clashes = NameIndex.build(entries)
    return index, [Finding(clash.position, Problem(clash.claim.field, clash.message())) for clash in clashes]


def component_findings(
    entries: Sequence[Architecture], index: NameIndex, by_id: Mapping[str, Architecture]
) -> tuple[list[Architecture], list[Finding]]:
    """ENTRIES with hybrid components named by their canonical ids, and each component that names no
    entry, or names a hybrid (nesting is refused: a hybrid lists its layer kinds directly). INDEX and
    BY_ID describe the entries components may name."""
    resolved: list[Architecture] = []
    findings: list[Finding] = []
    for position, entry in enumerate(entries):
        if not entry.components:
            resolved.append(entry)
            continue
        components = []
        for component in entry.components:
            target = index.resolve(component.arch)
            if target is None:
                message = f"component {component.arch!r} is not a registry id{index.hint(component.arch)}"
                findings.append(Finding(position, Problem("components", message)))
            elif by_id[target].is_hybrid:
                what = "itself" if target == entry.id else f"the hybrid '{target}'"
                findings.append(
                    Finding(
                        position,
                        Problem(
                            "components",
                            f"component {component.arch!r} is {what}; a component must be a single layer kind, "
                            "so list that hybrid's own components here instead",
                        ),
                    )
                )
            canonical = target is None or target == component.arch
            components.append(component if canonical else component.model_copy(update={"arch": target}))
        if [c.arch for c in components] != [c.arch for c in entry.components]:
            if len({c.arch for c in components}) != len(components):
                findings.append(Finding(position, Problem("components", "two components name the same entry")))
            entry = entry.model_copy(update={"components": components})
        resolved.append(entry)
    return resolved, findings


def order_finding(entries: Sequence[Architecture]) -> Finding | None:
    """The first entry out of id order, or None when ENTRIES are sorted."""
    ids = [entry.id for entry in entries]
    if ids == sorted(ids):
        return None
    position = next(i for i in range(1, len(ids)) if ids[i] < ids[i - 1])
    message = f"entries are not sorted by id (first out of place: '{ids[position]}'); run 'archclass fmt'"
    return Finding(position, Problem("id", message))
