"""The claims check: a reference's measured E and C and its exact state size against its registry entry.

A registry entry writes its exact state count in the paper's notation (`d^2/h`, `e*d*n + ...`); the
reference's spec says what each symbol is at its own settings (ReferenceSpec.registry_symbols), so the
formula can be evaluated and compared with the measured count. A hybrid's entry has no formula of its
own: each component's formula is evaluated with that component's symbols and counted once per layer of
its kind. Where no comparison can be made, the result says so and why; nothing is skipped silently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from archclass.classifier import classify_entry, placement_of
from archclass.complexity import ComplexityError, parse_formula
from archclass.probe.result import ProbeResult


def compare_with_registry(
    result: ProbeResult, arch_id: str, registry: Any, symbols: Mapping[str, float] | None
) -> None:
    """Fill result.registry with the declared classification, whether each property agrees, and the
    state formula's value against the measured state at the longest length."""
    entry = registry.get(arch_id)
    declared = classify_entry(entry, registry)
    measured = result.classification
    agreement = {
        "efficient": declared.efficient == measured["efficient"],
        "compact": declared.compact == measured["compact"],
    }
    block: dict[str, Any] = {
        "id": entry.id,
        "declared": {
            "efficient": declared.efficient,
            "compact": declared.compact,
            "recall": declared.recall,
            "placement": declared.placement,
        },
        "agrees": agreement,
        "agrees_all": all(agreement.values()),
    }
    # Measured placement with the declared recall, for the table.
    measured["placement"] = placement_of(measured["efficient"], measured["compact"], declared.recall)
    measured["recall"] = declared.recall
    measured["recall_note"] = "recall taken from the registry's declared retrieval; the probe does not measure it"
    block["state_formula"] = state_formula_check(result, entry, registry, symbols)
    if not block["state_formula"].get("checked"):
        result.notes.append(f"state formula not checked: {block['state_formula']['reason']}")
    result.registry = block
    result.arch_id = entry.id


class NotComparable(Exception):
    """Why a reference's state cannot be compared with its registry entry's formula."""


def _terms(entry: Any, registry: Any, symbols: Mapping[str, float]) -> list[tuple[Any, dict[str, float], float]]:
    """(entry, its symbols, layers) for each part whose formula adds up to the state: the entry itself,
    or a hybrid's components with their prefixed symbols."""
    if not entry.components:
        return [(entry, dict(symbols), symbols.get("layers", 1))]
    terms = []
    for component in entry.components:
        prefix = f"{component.arch}."
        own = {key.removeprefix(prefix): value for key, value in symbols.items() if key.startswith(prefix)}
        if not own:
            raise NotComparable(f"the reference's registry symbols give none for component {component.arch!r}")
        terms.append((registry.get(component.arch), own, own.pop("layers", 1)))
    return terms


def registry_state_scalars(
    entry: Any, registry: Any, symbols: Mapping[str, float] | None, length: int
) -> tuple[float, str]:
    """The state scalars the registry gives at `length` for a reference with these symbols, and the
    formula used (a hybrid's: its components' formulas, each times its layers). Raises NotComparable."""
    if symbols is None:
        raise NotComparable(f"the reference gives no registry symbols for {entry.id}")
    terms = _terms(entry, registry, symbols)
    missing = [part.id for part, _, _ in terms if not (part.inference and part.inference.state_scalars)]
    if missing:
        raise NotComparable(f"registry entry {', '.join(missing)} gives no exact state_scalars formula")
    expected, formulas = 0.0, []
    for part, values, layers in terms:
        text = part.inference.state_scalars
        try:
            formula = parse_formula(text, set(part.hyperparameters))
            expected += formula.evaluate({**values, "T": length}) * layers
        except ComplexityError as error:
            raise NotComparable(f"the formula {text} cannot be evaluated: {error}") from None
        formulas.append(text if part is entry else f"{layers:g} x ({text})")
    return expected, " + ".join(formulas)


def state_formula_check(
    result: ProbeResult, entry: Any, registry: Any, symbols: Mapping[str, float] | None
) -> dict[str, Any]:
    """The registry's exact state count at the longest length against the measured one, or why not."""
    last = result.measurements[-1]
    try:
        expected, formula = registry_state_scalars(entry, registry, symbols, last.length)
    except NotComparable as reason:
        return {"checked": False, "reason": str(reason)}
    return {
        "checked": True,
        "formula": formula,
        "values": dict(symbols or {}),
        "expected_at_longest": expected,
        "measured_at_longest": last.state_scalars,
        "agrees": math.isclose(expected, last.state_scalars, rel_tol=1e-9),
    }
