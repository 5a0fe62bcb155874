"""The checks beyond the schema, one entry or one list of entries at a time."""

from __future__ import annotations

import yaml

from archclass.checks import check_entry, component_findings, name_findings, order_finding
from archclass.schema import Architecture

from .test_registry import GOOD, HYBRID


def entries(text: str) -> list[Architecture]:
    return [Architecture.model_validate(raw) for raw in yaml.safe_load(text)]


def test_a_sound_leaf_is_classified_while_it_is_checked():
    check = check_entry(entries(GOOD)[0])
    assert check.problems == () and check.result is not None and check.result.placement == "EC"


def test_arithmetic_that_fails_at_the_default_settings_is_a_problem():
    text = GOOD.replace("per_step_compute: O(d^2)", "per_step_compute: O(d^2/(w - w))").replace(
        "  evidence: Sec. 1.", "  hyperparameters:\n    w: {meaning: width, value: 2}\n  evidence: Sec. 1.", 1
    )
    [problem] = check_entry(entries(text)[0]).problems
    assert problem.field == "inference.per_step_compute" and "divides by zero at d=4096, w=2" in problem.message


def test_names_components_and_order_are_checked_across_entries():
    listed = entries(GOOD + HYBRID.replace("arch: beta", "arch: B Model"))
    index, clashes = name_findings(listed)
    assert clashes == [] and index.resolve("B_MODEL") == "beta"
    resolved, broken = component_findings(listed, index, {e.id: e for e in listed})
    assert broken == [] and [c.arch for c in resolved[2].components] == ["alpha", "beta"]
    assert order_finding(listed) is None
    disorder = order_finding(list(reversed(listed)))
    assert disorder is not None and disorder.position == 1 and "first out of place: 'beta'" in disorder.problem.message
