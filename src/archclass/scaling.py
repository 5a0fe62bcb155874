"""An entry's decode-time scaling, parsed once: the fixed-knob reading and the paper's recipe reading.

The registry holds every hyperparameter fixed (a window w, a stride l) and classifies the growth in
T alone. Some papers instead grow a knob with T (Sparse Transformer's stride l ~ sqrt(T), Reformer's
bucket count with T); an entry records that as ``recipe: {l: sqrt(T)}``, and the recipe reading is
the same strings with the knob replaced by its formula.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from archclass import complexity
from archclass.complexity import Complexity, ComplexityError
from archclass.schema import Architecture

FIXED = "fixed"
RECIPE = "recipe"
_STRING_FIELDS = ("per_step_compute", "state_size", "state_scalars")


@dataclass(frozen=True)
class Scaling:
    """One reading of a leaf entry's per-layer scaling."""

    per_step_compute: Complexity
    state_size: Complexity
    state_scalars: Complexity | None
    reading: str = FIXED
    #: The recipe's {symbol: formula} in a recipe reading; empty in the fixed one.
    substitutions: Mapping[str, str] = field(default_factory=dict)

    @property
    def state_expression(self) -> Complexity:
        """What the recall bound evaluates: the exact count when given, else the big-O string."""
        return self.state_scalars or self.state_size


@dataclass(frozen=True)
class Problem:
    """A field of an entry that cannot be read, and why."""

    field: str
    message: str


@dataclass(frozen=True)
class Readings:
    """Both readings of an entry (None where they do not apply or cannot be read) and what went wrong."""

    fixed: Scaling | None = None
    recipe: Scaling | None = None
    problems: tuple[Problem, ...] = ()


def read(entry: Architecture) -> Readings:
    """Parse ENTRY's complexity strings and its recipe; a hybrid has neither, only its components."""
    if entry.inference is None:
        if entry.recipe:
            return Readings(problems=(Problem("recipe", "a hybrid takes its recipe reading from its components"),))
        return Readings()
    declared = set(entry.hyperparameters)
    parsed: dict[str, Complexity | None] = {}
    problems: list[Problem] = []
    for name in _STRING_FIELDS:
        text = getattr(entry.inference, name)
        if text is None:
            parsed[name] = None
            continue
        try:
            parsed[name] = (
                complexity.parse_formula(text, declared)
                if name == "state_scalars"
                else complexity.parse(text, declared)
            )
        except ComplexityError as error:
            problems.append(Problem(f"inference.{name}", str(error)))
    used = None if problems else set().union(*(c.symbols for c in parsed.values() if c is not None))
    problems.extend(_check_recipe(entry, declared, used))
    if problems:
        return Readings(problems=tuple(problems))
    compute, state, scalars = (parsed[name] for name in _STRING_FIELDS)
    assert compute is not None and state is not None
    fixed = Scaling(compute, state, scalars)
    if not entry.recipe:
        return Readings(fixed=fixed)
    try:
        recipe = _substituted(entry, declared)
    except ComplexityError as error:
        return Readings(problems=(Problem("recipe", f"the recipe reading cannot be parsed: {error}"),))
    return Readings(fixed=fixed, recipe=recipe)


def _check_recipe(entry: Architecture, declared: set[str], used: set[str] | None) -> list[Problem]:
    """Keys are declared knobs used somewhere; values are formulas that grow with T."""
    problems: list[Problem] = []
    knobs = set(entry.recipe or {})
    for symbol, formula in (entry.recipe or {}).items():
        where = f"recipe.{symbol}"
        if symbol not in declared:
            problems.append(Problem(where, f"{symbol!r} is not a declared hyperparameter; declare it first"))
            continue
        try:
            parsed = complexity.parse_formula(formula, declared - knobs)
        except ComplexityError as error:
            problems.append(Problem(where, f"{error} (a recipe may use T, d and the hyperparameters it does not set)"))
            continue
        if parsed.growth.is_constant:
            problems.append(
                Problem(where, f"{formula!r} does not grow with T; a fixed value belongs under hyperparameters")
            )
        elif used is not None and symbol not in used:
            unused = f"{symbol!r} appears in no complexity string, so the recipe changes nothing"
            problems.append(Problem(where, unused))
    return problems


def _substituted(entry: Architecture, declared: set[str]) -> Scaling:
    assert entry.inference is not None and entry.recipe
    strings = {}
    for name in _STRING_FIELDS:
        text = getattr(entry.inference, name)
        strings[name] = None if text is None else complexity.substitute(text, entry.recipe, declared)
    compute, state, scalars = strings["per_step_compute"], strings["state_size"], strings["state_scalars"]
    assert compute is not None and state is not None
    return Scaling(compute, state, scalars, RECIPE, dict(entry.recipe))
