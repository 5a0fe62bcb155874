"""An entry's complexity strings are read once, in the fixed reading and the paper's recipe reading."""

from __future__ import annotations

from fractions import Fraction

from archclass.complexity import Growth
from archclass.scaling import FIXED, RECIPE, read
from archclass.schema import Architecture

ENTRY = {
    "id": "strided",
    "name": "Strided",
    "year": 2019,
    "arxiv": "1904.10509",
    "family": "sparse-attention",
    "summary": "Attends to a stride.",
    "inference": {
        "per_step_compute": "O(T/l d + l d)",
        "state_size": "O(T d)",
        "state_scalars": "2*T*d",
        "retrieval": "exact",
    },
    "hyperparameters": {"l": {"meaning": "stride", "value": 128}},
    "evidence": "Sec. 4.",
}


def test_without_a_recipe_there_is_only_the_fixed_reading():
    readings = read(Architecture.model_validate(ENTRY))
    assert readings.problems == () and readings.recipe is None
    assert readings.fixed is not None and readings.fixed.reading == FIXED
    assert readings.fixed.per_step_compute.growth == Growth(Fraction(1))
    assert readings.fixed.state_expression.source == "O(2*T*d)"


def test_the_recipe_reading_substitutes_the_knob():
    readings = read(Architecture.model_validate({**ENTRY, "recipe": {"l": "sqrt(T)"}}))
    recipe = readings.recipe
    assert recipe is not None and recipe.reading == RECIPE and recipe.substitutions == {"l": "sqrt(T)"}
    assert recipe.per_step_compute.source == "O(T/sqrt(T) d + sqrt(T) d)"
    assert recipe.per_step_compute.growth == Growth(Fraction(1, 2))
    assert recipe.state_size.source == "O(T d)"


def test_problems_name_the_field():
    broken = {**ENTRY, "inference": {**ENTRY["inference"], "state_size": "O(T e)"}, "recipe": {"q": "T"}}
    problems = read(Architecture.model_validate(broken)).problems
    assert [p.field for p in problems] == ["inference.state_size", "recipe.q"]
    assert "undeclared symbol 'e'" in problems[0].message and "not a declared hyperparameter" in problems[1].message
