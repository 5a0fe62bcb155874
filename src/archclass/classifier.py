"""The rule-based classifier: E, C and R flags, the placement on the triangle, and the recall bound.

The rules themselves live in ``taxonomy/rules.yaml``; this module computes the facts they test,
applies them in order and explains the result. Measured evidence (the probe runner) goes through the
same rules via :func:`classify_facts`.

This module knows nothing about registries: it classifies one entry from its parsed scaling, or a
hybrid from its classified parts. :class:`archclass.registry.Registry` supplies both and remembers
the results.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import yaml

from archclass.bound import FORMULA, BoundError, recall_bound
from archclass.complexity import ComplexityError
from archclass.errors import ArchclassError
from archclass.scaling import FIXED, RECIPE, Scaling
from archclass.schema import Architecture
from archclass.vocabulary import (
    GROWTH_CLASSES,
    PLACEMENTS,
    PRECISIONS,
    PROPERTIES,
    RETRIEVALS,
    Placement,
    Precision,
    Retrieval,
)

__all__ = [
    "PLACEMENTS",
    "PROPERTIES",
    "BoundSettings",
    "Classification",
    "Firing",
    "Part",
    "SettingsError",
    "TheoremViolation",
    "apply_rules",
    "bound_for",
    "classify_entry",
    "classify_facts",
    "classify_hybrid",
    "classify_leaf",
    "placement_of",
    "position_of",
]

VERTICES = {"efficient": "E", "compact": "C", "recall": "R"}
_FLAG = (True, False)
#: The facts rules may test, with the values each can take.
_FACT_VALUES: dict[str, tuple[object, ...]] = {
    "hybrid": _FLAG,
    "compute": GROWTH_CLASSES,
    "state": GROWTH_CLASSES,
    "retrieval": RETRIEVALS,
    "precision": PRECISIONS,
    "all_efficient": _FLAG,
    "all_compact": _FLAG,
    "any_recall": _FLAG,
}
THEOREM = "E and C imply not R"


class TheoremViolation(ValueError):
    """An entry whose declared scaling gives efficiency, compactness and recall together.

    ``field`` names the entry field to blame: its retrieval, or its recipe in the recipe reading.
    """

    def __init__(self, message: str, field: str = "inference.retrieval") -> None:
        super().__init__(message)
        self.field = field


class SettingsError(ArchclassError):
    """A bound setting that is not a usable number, or a symbol the entry does not declare."""

    def __init__(self, message: str, symbol: str | None = None, known: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.symbol = symbol
        self.known = tuple(known)


def _positive(name: str, value: object, *, integer: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"{name} must be a number, got {value!r}")
    if integer and not float(value).is_integer():
        raise SettingsError(f"{name} must be a whole number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(f"{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True)
class BoundSettings:
    """Values at which the recall bound is evaluated. Defaults describe a 7B-class model in bf16.

    ``overrides`` gives values to an entry's own hyperparameters (``{"w": 4096}``). Every number must be
    finite and positive (SettingsError otherwise); which symbols an entry accepts is checked when it
    is classified (:meth:`archclass.registry.Registry.classification`).
    """

    d: float = 4096
    layers: int = 32
    bits: float = 16
    vocab: int = 32000
    accuracy: float = 0.9
    length: float = 2**20
    overrides: Mapping[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _positive("d", self.d)
        _positive("layers", self.layers, integer=True)
        _positive("bits", self.bits)
        _positive("vocab", self.vocab, integer=True)
        _positive("accuracy", self.accuracy)
        _positive("length", self.length)
        for symbol, value in self.overrides.items():
            if not isinstance(symbol, str) or not symbol:
                raise SettingsError(f"a hyperparameter name must be a non-empty string, got {symbol!r}")
            _positive(f"hyperparameter {symbol!r}", value)
        # A private read-only copy: the caller's dict may change, a memoised result must not.
        object.__setattr__(self, "overrides", MappingProxyType({k: float(v) for k, v in self.overrides.items()}))

    def restricted(self, symbols: Iterable[str]) -> BoundSettings:
        """The same settings with only the overrides of SYMBOLS (what a hybrid passes to a component)."""
        keep = set(symbols)
        return replace(self, overrides={k: v for k, v in self.overrides.items() if k in keep})

    def check_symbols(self, owner: str, symbols: Iterable[str]) -> None:
        """Refuse an override of a symbol not among SYMBOLS, those of OWNER ("'retnet'", "the registry")."""
        known = sorted(set(symbols))
        for symbol in self.overrides:
            if symbol in known:
                continue
            if symbol in ("d", "T"):
                what = "the width" if symbol == "d" else "the position"
                raise SettingsError(
                    f"{symbol!r} is {what}, not a hyperparameter: set it with its own option (--d or --length)",
                    symbol,
                    known,
                )
            choices = f"its symbols are {', '.join(known)}" if known else "it declares no hyperparameters"
            raise SettingsError(f"{owner} has no symbol {symbol!r}; {choices}", symbol, known)


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
    """Where an entry sits on the triangle, why, and (for E and C) its recall bound.

    ``reading`` is "fixed" (hyperparameters held constant, the registry's reading) or "recipe" (the
    paper's own recipe grows some of them with T). ``recipe`` is the recipe reading of an entry that
    has one (a hybrid: when any component has one), else None. Results may be shared between
    callers (the registry memoises them): treat them as read-only.
    """

    id: str
    efficient: bool
    compact: bool
    recall: bool
    placement: Placement
    position: tuple[float, float, float]
    rules: list[Firing]
    bound: dict[str, Any] | None
    compute_growth: str | None = None
    state_growth: str | None = None
    hybrid: bool = False
    reading: str = FIXED
    recipe: Classification | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, the position as a list, the recipe reading nested (or None)."""
        data = asdict(self)
        nested: dict[str, Any] | None = data
        while nested is not None:
            nested["position"] = list(nested["position"])
            nested = nested.get("recipe")
        return data


@dataclass(frozen=True)
class Part:
    """One layer kind of a hybrid: its entry, share of layers, classification and scaling (one reading)."""

    entry: Architecture
    fraction: float
    result: Classification
    scaling: Scaling


class ClassifiesEntries(Protocol):
    def classify_entry(self, entry: Architecture, settings: BoundSettings | None = None) -> Classification: ...


@functools.cache
def load_rules(path: Path | None = None) -> tuple[Rule, ...]:
    from archclass.paths import rules_path  # looked up at call time, so tests can point it elsewhere

    raw = yaml.safe_load((path or rules_path()).read_text(encoding="utf-8"))
    rules = []
    for item in raw["rules"]:
        when = {**item.get("when", {}), **item.get("and", {})}
        rules.append(Rule(item["name"], item["property"], bool(item["value"]), when, item["explain"]))
    for rule in rules:
        if rule.property not in PROPERTIES:
            raise RuntimeError(f"rules.yaml: rule {rule.name!r} decides unknown property {rule.property!r}")
        for fact, allowed in rule.when.items():
            # A misspelt fact or value would never match and silently send entries to the next rule.
            if fact not in _FACT_VALUES or not set(allowed) <= set(_FACT_VALUES[fact]):
                raise RuntimeError(f"rules.yaml: rule {rule.name!r} tests {fact}: {allowed}, which no entry can have")
    for prop in PROPERTIES:
        if not any(rule.property == prop and not rule.when for rule in rules) and prop != "recall":
            raise RuntimeError(f"rules.yaml has no catch-all rule for {prop}")
    return tuple(rules)


def placement_of(efficient: bool, compact: bool, recall: bool) -> Placement:
    label = "".join(VERTICES[p] for p, flag in zip(PROPERTIES, (efficient, compact, recall), strict=True) if flag)
    return Placement(label or "none")


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


def _values(entry: Architecture, settings: BoundSettings) -> dict[str, float]:
    return {"d": settings.d, "T": settings.length, **entry.hyperparameter_values(), **settings.overrides}


def bound_for(entry: Architecture, scaling: Scaling, settings: BoundSettings) -> dict[str, Any]:
    """The recall bound for an efficient, compact entry, as a formula and evaluated."""
    result: dict[str, Any] = {"formula": FORMULA, "theorem": THEOREM}
    assert entry.inference is not None
    try:
        per_layer = scaling.state_expression.evaluate(_values(entry, settings))
        n = per_layer * settings.layers
        bound = recall_bound(n, settings.bits, settings.vocab, settings.accuracy)
    except (ComplexityError, BoundError) as error:
        result.update(evaluated=False, reason=str(error))
        return result
    if scaling.state_scalars is not None:
        source = f"state_scalars = {scaling.state_scalars.source.removeprefix('O(').removesuffix(')')}"
    else:
        source = f"state_size {scaling.state_size.source} with constants dropped"
    if scaling.reading == RECIPE:
        source += " under the recipe " + _recipe_text(scaling.substitutions)
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


def _recipe_text(substitutions: Mapping[str, str]) -> str:
    return ", ".join(f"{symbol} = {formula}" for symbol, formula in substitutions.items())


def _leaf_facts(entry: Architecture, scaling: Scaling) -> tuple[dict[str, Any], dict[str, Any]]:
    assert entry.inference is not None
    compute = scaling.per_step_compute.growth
    state = scaling.state_size.growth
    facts = {
        "hybrid": False,
        "compute": compute.growth_class,
        "state": state.growth_class,
        "retrieval": entry.inference.retrieval,
        "precision": entry.inference.precision,
    }
    context = {
        **facts,
        "per_step_compute": scaling.per_step_compute.source,
        "state_size": scaling.state_size.source,
        "compute_class": compute.growth_class,
        "state_class": state.growth_class,
        "compute_growth": str(compute),
        "state_growth": str(state),
    }
    return facts, context


def classify_leaf(entry: Architecture, scaling: Scaling, settings: BoundSettings) -> Classification:
    """Classify a non-hybrid entry in one reading; raise TheoremViolation for an E+C+R claim."""
    facts, context = _leaf_facts(entry, scaling)
    flags, fired = apply_rules(facts, context)
    efficient, compact, recall = (flags[p] for p in PROPERTIES)
    assert entry.inference is not None
    claims_recall = "recall" in entry.inference.claims
    stores_everything = entry.inference.retrieval is not Retrieval.NONE
    fixed_compact = compact and entry.inference.precision is Precision.FIXED
    if (efficient and compact and (recall or claims_recall)) or (fixed_compact and stores_everything):
        blamed = "recipe" if scaling.reading == RECIPE else "inference.retrieval"
        raise TheoremViolation(_violation_message(entry, scaling, settings, claims_recall), blamed)
    return Classification(
        id=entry.id,
        efficient=efficient,
        compact=compact,
        recall=recall,
        placement=placement_of(efficient, compact, recall),
        position=position_of(efficient, compact, recall),
        rules=fired,
        bound=bound_for(entry, scaling, settings) if efficient and compact else None,
        compute_growth=context["compute_growth"],
        state_growth=context["state_growth"],
        reading=scaling.reading,
    )


def _violation_message(entry: Architecture, scaling: Scaling, settings: BoundSettings, claims_recall: bool) -> str:
    assert entry.inference is not None
    what = (
        "claims recall" if claims_recall else f"declares {entry.inference.retrieval} retrieval of every earlier token"
    )
    message = (
        f"{what} with a constant-size state ({scaling.state_size.source}) of fixed precision; the theorem "
        f"{THEOREM} forbids it"
    )
    if scaling.reading == RECIPE:
        message = f"in the paper's recipe reading ({_recipe_text(scaling.substitutions)}), {message}"
    bound = bound_for(entry, scaling, settings)
    if bound.get("evaluated"):
        message += (
            f": n={bound['n']:.4g} scalars ({bound['layers']} layers at d={settings.d:g}) of p={settings.bits:g} bits "
            f"recall at most K <= n*p/(A*log2 V - 1) = {bound['max_pairs']:.4g} pairs at V={settings.vocab}, "
            f"A={settings.accuracy}, whatever T is"
        )
    return message + "; use retrieval: none, or make the state grow with T"


def classify_hybrid(entry: Architecture, parts: Sequence[Part], settings: BoundSettings) -> Classification:
    """Classify a hybrid from its classified layer kinds (all in the same reading)."""
    facts = {
        "hybrid": True,
        "all_efficient": all(p.result.efficient for p in parts),
        "all_compact": all(p.result.compact for p in parts),
        "any_recall": any(p.result.recall for p in parts),
    }

    def names(predicate: Any) -> str:
        return ", ".join(f"{p.entry.id} ({p.fraction * 100:.4g}%)" for p in parts if predicate(p.result)) or "none"

    context = {
        **facts,
        "components": names(lambda c: True),
        "slow": names(lambda c: not c.efficient),
        "growing": names(lambda c: not c.compact),
        "recallers": names(lambda c: c.recall),
    }
    flags, fired = apply_rules(facts, context)
    efficient, compact, recall = (flags[p] for p in PROPERTIES)
    position = tuple(sum(p.fraction * p.result.position[i] for p in parts) for i in range(3))
    compute = max(p.scaling.per_step_compute.growth for p in parts)
    state = max(p.scaling.state_size.growth for p in parts)
    reading = RECIPE if any(p.scaling.reading == RECIPE for p in parts) else FIXED
    return Classification(
        id=entry.id,
        efficient=efficient,
        compact=compact,
        recall=recall,
        placement=placement_of(efficient, compact, recall),
        position=position,  # type: ignore[arg-type]
        rules=fired,
        bound=_hybrid_bound(parts, settings) if efficient and compact else None,
        compute_growth=str(compute),
        state_growth=str(state),
        hybrid=True,
        reading=reading,
    )


def _hybrid_bound(parts: Sequence[Part], settings: BoundSettings) -> dict[str, Any]:
    """A compact hybrid's state is the fraction-weighted mix of its layers' states."""
    result: dict[str, Any] = {"formula": FORMULA, "theorem": THEOREM}
    per_layer = 0.0
    for part in parts:
        bound = part.result.bound
        if bound is None or not bound.get("evaluated"):
            result.update(evaluated=False, reason=f"state of component '{part.entry.id}' could not be evaluated")
            return result
        per_layer += part.fraction * bound["state_scalars_per_layer"]
    n = per_layer * settings.layers
    try:
        recalled = recall_bound(n, settings.bits, settings.vocab, settings.accuracy)
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
        max_pairs=recalled.max_pairs,
        state_from="fraction-weighted mean of the components' states",
    )
    return result


def classify_entry(
    entry: Architecture, registry: ClassifiesEntries, settings: BoundSettings | None = None
) -> Classification:
    """Classify ENTRY, with REGISTRY supplying its components: ``registry.classify_entry(entry, settings)``.

    Kept for callers that hold an entry and its registry; the registry memoises the result.
    """
    return registry.classify_entry(entry, settings)
