"""The rule-based classifier: E, C and R flags, the placement on the triangle, and the recall bound.

The rules themselves live in ``taxonomy/rules.yaml``; this module computes the facts they test,
applies them in order and explains the result. Measured evidence (the probe runner) goes through the
same rules via :func:`classify_facts`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from archclass import complexity
from archclass.bound import FORMULA, BoundError, recall_bound
from archclass.schema import Architecture

if TYPE_CHECKING:
    from archclass.registry import Registry

PROPERTIES = ("efficient", "compact", "recall")
VERTICES = {"efficient": "E", "compact": "C", "recall": "R"}
PLACEMENTS = ("EC", "ER", "CR", "E", "C", "R", "none")


class TheoremViolation(ValueError):
    """An entry whose declared scaling gives efficiency, compactness and recall together."""


@dataclass(frozen=True)
class BoundSettings:
    """Values at which the recall bound is evaluated. Defaults describe a 7B-class model in bf16."""

    d: float = 4096
    layers: int = 32
    bits: float = 16
    vocab: int = 32000
    accuracy: float = 0.9
    length: float = 2**20
    overrides: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    name: str
    property: str
    value: bool
    when: Mapping[str, list[Any]]
    explain: str

    def matches(self, facts: Mapping[str, Any]) -> bool:
        return all(facts.get(fact) in allowed for fact, allowed in self.when.items())


@dataclass(frozen=True)
class Firing:
    rule: str
    property: str
    value: bool
    explanation: str


@dataclass
class Classification:
    id: str
    efficient: bool
    compact: bool
    recall: bool
    placement: str
    position: tuple[float, float, float]
    rules: list[Firing]
    bound: dict[str, Any] | None
    compute_growth: str | None = None
    state_growth: str | None = None
    hybrid: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["position"] = list(self.position)
        return data


@functools.cache
def load_rules(path: Path | None = None) -> tuple[Rule, ...]:
    from archclass.paths import rules_path

    raw = yaml.safe_load((path or rules_path()).read_text(encoding="utf-8"))
    rules = []
    for item in raw["rules"]:
        when = {**item.get("when", {}), **item.get("and", {})}
        rules.append(Rule(item["name"], item["property"], bool(item["value"]), when, item["explain"]))
    for prop in PROPERTIES:
        if not any(rule.property == prop and not rule.when for rule in rules) and prop != "recall":
            raise RuntimeError(f"rules.yaml has no catch-all rule for {prop}")
    return tuple(rules)


def placement_of(efficient: bool, compact: bool, recall: bool) -> str:
    label = "".join(VERTICES[p] for p, flag in zip(PROPERTIES, (efficient, compact, recall), strict=True) if flag)
    return label or "none"


def position_of(efficient: bool, compact: bool, recall: bool) -> tuple[float, float, float]:
    """Barycentric (E, C, R): the vertex, the edge midpoint, or the centre when no property holds."""
    flags = (efficient, compact, recall)
    count = sum(flags)
    if count == 0:
        return (1 / 3, 1 / 3, 1 / 3)
    return tuple(float(flag) / count for flag in flags)  # type: ignore[return-value]


def apply_rules(facts: Mapping[str, Any], context: Mapping[str, Any]) -> tuple[dict[str, bool], list[Firing]]:
    """Decide each property by the first matching rule; return the flags and the rules that fired."""
    flags: dict[str, bool] = {}
    fired: list[Firing] = []
    for rule in load_rules():
        if rule.property in flags or not rule.matches(facts):
            continue
        flags[rule.property] = rule.value
        fired.append(Firing(rule.name, rule.property, rule.value, rule.explain.format_map(_Defaulting(context))))
    for prop in PROPERTIES:
        flags.setdefault(prop, False)
    return flags, fired


class _Defaulting(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def classify_facts(
    facts: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> tuple[dict[str, bool], list[Firing]]:
    """Classify from facts alone: what the probe runner uses for measured growth classes."""
    return apply_rules({"hybrid": False, "precision": "fixed", **facts}, {**facts, **(context or {})})


def _state_scalars_at(entry: Architecture, settings: BoundSettings) -> tuple[float, str]:
    """Per-layer state scalars at concrete values, and how they were obtained."""
    assert entry.inference is not None
    declared = set(entry.hyperparameters)
    values = {"d": settings.d, "T": settings.length, **entry.hyperparameter_values(), **settings.overrides}
    if entry.inference.state_scalars:
        expr = complexity.parse_formula(entry.inference.state_scalars, declared)
        return expr.evaluate(values), f"state_scalars = {entry.inference.state_scalars}"
    expr = complexity.parse(entry.inference.state_size, declared)
    return expr.evaluate(values), f"state_size {entry.inference.state_size} with constants dropped"


def bound_for(entry: Architecture, settings: BoundSettings) -> dict[str, Any]:
    """The recall bound for an efficient, compact entry, as a formula and evaluated."""
    result: dict[str, Any] = {"formula": FORMULA, "theorem": "E and C imply not R"}
    try:
        per_layer, source = _state_scalars_at(entry, settings)
    except complexity.ComplexityError as error:
        result.update(evaluated=False, reason=str(error))
        return result
    n = per_layer * settings.layers
    try:
        bound = recall_bound(n, settings.bits, settings.vocab, settings.accuracy)
    except BoundError as error:
        result.update(evaluated=False, reason=str(error))
        return result
    result.update(
        evaluated=True,
        state_scalars_per_layer=per_layer,
        layers=settings.layers,
        d=settings.d,
        n=n,
        p=settings.bits,
        V=settings.vocab,
        A=settings.accuracy,
        max_pairs=bound.max_pairs,
        state_from=source,
    )
    return result


def _leaf_facts(entry: Architecture) -> tuple[dict[str, Any], dict[str, Any]]:
    assert entry.inference is not None
    declared = set(entry.hyperparameters)
    compute = complexity.parse(entry.inference.per_step_compute, declared).growth
    state = complexity.parse(entry.inference.state_size, declared).growth
    facts = {
        "hybrid": False,
        "compute": compute.growth_class,
        "state": state.growth_class,
        "retrieval": entry.inference.retrieval,
        "precision": entry.inference.precision,
    }
    context = {
        **facts,
        "per_step_compute": entry.inference.per_step_compute,
        "state_size": entry.inference.state_size,
        "compute_class": compute.growth_class,
        "state_class": state.growth_class,
        "compute_growth": str(compute),
        "state_growth": str(state),
    }
    return facts, context


def classify_entry(entry: Architecture, registry: Registry, settings: BoundSettings | None = None) -> Classification:
    """Classify a registry entry (a hybrid through its components); refuse E+C+R claims."""
    settings = settings or BoundSettings()
    if entry.components:
        return _classify_hybrid(entry, registry, settings)
    facts, context = _leaf_facts(entry)
    flags, fired = apply_rules(facts, context)
    efficient, compact, recall = (flags[p] for p in PROPERTIES)
    assert entry.inference is not None
    claims_recall = "recall" in entry.inference.claims
    stores_everything = entry.inference.retrieval != "none"
    fixed_compact = compact and entry.inference.precision == "fixed"
    if (efficient and compact and (recall or claims_recall)) or (fixed_compact and stores_everything):
        raise TheoremViolation(_violation_message(entry, settings, claims_recall))
    bound = bound_for(entry, settings) if efficient and compact else None
    return Classification(
        id=entry.id,
        efficient=efficient,
        compact=compact,
        recall=recall,
        placement=placement_of(efficient, compact, recall),
        position=position_of(efficient, compact, recall),
        rules=fired,
        bound=bound,
        compute_growth=context["compute_growth"],
        state_growth=context["state_growth"],
    )


def _violation_message(entry: Architecture, settings: BoundSettings, claims_recall: bool) -> str:
    assert entry.inference is not None
    what = (
        "claims recall" if claims_recall else f"declares {entry.inference.retrieval} retrieval of every earlier token"
    )
    message = (
        f"{what} with a constant-size state ({entry.inference.state_size}) of fixed precision; the theorem "
        f"E and C imply not R forbids it"
    )
    bound = bound_for(entry, settings)
    if bound.get("evaluated"):
        message += (
            f": n={bound['n']:.4g} scalars ({bound['layers']} layers at d={settings.d:g}) of p={settings.bits:g} bits "
            f"recall at most K <= n*p/(A*log2 V - 1) = {bound['max_pairs']:.4g} pairs at V={settings.vocab}, "
            f"A={settings.accuracy}, whatever T is"
        )
    return message + "; use retrieval: none, or make the state grow with T"


def _classify_hybrid(entry: Architecture, registry: Registry, settings: BoundSettings) -> Classification:
    assert entry.components is not None
    parts = [(registry.get(c.arch), c.fraction) for c in entry.components]
    classified = [(part, fraction, classify_entry(part, registry, settings)) for part, fraction in parts]
    facts = {
        "hybrid": True,
        "all_efficient": all(c.efficient for _, _, c in classified),
        "all_compact": all(c.compact for _, _, c in classified),
        "any_recall": any(c.recall for _, _, c in classified),
    }

    def names(predicate: Any) -> str:
        return ", ".join(f"{p.id} ({f * 100:.4g}%)" for p, f, c in classified if predicate(c)) or "none"

    context = {
        **facts,
        "components": names(lambda c: True),
        "slow": names(lambda c: not c.efficient),
        "growing": names(lambda c: not c.compact),
        "recallers": names(lambda c: c.recall),
    }
    flags, fired = apply_rules(facts, context)
    efficient, compact, recall = (flags[p] for p in PROPERTIES)
    position = tuple(sum(fraction * c.position[i] for _, fraction, c in classified) for i in range(3))
    compute, state = growths(entry, registry)
    bound = None
    if efficient and compact:
        bound = _hybrid_bound(classified, settings)
    return Classification(
        id=entry.id,
        efficient=efficient,
        compact=compact,
        recall=recall,
        placement=placement_of(efficient, compact, recall),
        position=position,  # type: ignore[arg-type]
        rules=fired,
        bound=bound,
        compute_growth=str(compute),
        state_growth=str(state),
        hybrid=True,
    )


def growths(entry: Architecture, registry: Registry) -> tuple[complexity.Growth, complexity.Growth]:
    """(per-step compute, state) growth in T; a hybrid takes the worst of its components."""
    if entry.components:
        pairs = [growths(registry.get(c.arch), registry) for c in entry.components]
        return max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert entry.inference is not None
    declared = set(entry.hyperparameters)
    return (
        complexity.parse(entry.inference.per_step_compute, declared).growth,
        complexity.parse(entry.inference.state_size, declared).growth,
    )


def _hybrid_bound(
    classified: list[tuple[Architecture, float, Classification]], settings: BoundSettings
) -> dict[str, Any]:
    """A compact hybrid's state is the fraction-weighted mix of its layers' states."""
    per_layer = 0.0
    for part, fraction, result in classified:
        if result.bound is None or not result.bound.get("evaluated"):
            return {
                "formula": FORMULA,
                "theorem": "E and C imply not R",
                "evaluated": False,
                "reason": f"state of component '{part.id}' could not be evaluated",
            }
        per_layer += fraction * result.bound["state_scalars_per_layer"]
    n = per_layer * settings.layers
    bound = recall_bound(n, settings.bits, settings.vocab, settings.accuracy)
    return {
        "formula": FORMULA,
        "theorem": "E and C imply not R",
        "evaluated": True,
        "state_scalars_per_layer": per_layer,
        "layers": settings.layers,
        "d": settings.d,
        "n": n,
        "p": settings.bits,
        "V": settings.vocab,
        "A": settings.accuracy,
        "max_pairs": bound.max_pairs,
        "state_from": "fraction-weighted mean of the components' states",
    }
