from __future__ import annotations

from pathlib import Path

import pytest

from archclass.classifier import BoundSettings, classify_entry, classify_facts, placement_of, position_of
from archclass.registry import load_registry, registry_from_text

from .test_registry import GOOD, HYBRID


@pytest.fixture
def small():
    return registry_from_text(GOOD + HYBRID)


def test_placements_and_positions():
    assert placement_of(True, True, False) == "EC"
    assert placement_of(False, False, True) == "R"
    assert placement_of(False, False, False) == "none"
    assert position_of(True, True, False) == (0.5, 0.5, 0.0)
    assert position_of(False, False, False) == pytest.approx((1 / 3,) * 3)


def test_compact_efficient_entry_gets_the_bound(small):
    result = classify_entry(small.get("alpha"), small, BoundSettings(d=64, layers=2, bits=16, vocab=1024, accuracy=1.0))
    assert (result.efficient, result.compact, result.recall, result.placement) == (True, True, False, "EC")
    assert [f.rule for f in result.rules] == ["constant-step", "constant-state", "no-content-read"]
    assert result.bound["n"] == 2 * 64**2
    assert result.bound["max_pairs"] == pytest.approx(2 * 64**2 * 16 / 9)


def test_attention_is_recall_only_without_a_bound(small):
    result = classify_entry(small.get("beta"), small)
    assert result.placement == "R" and result.bound is None
    assert "O(T d)" in result.rules[0].explanation


def test_hybrid_inherits_worst_growth_and_sits_inside(small):
    result = classify_entry(small.get("gamma"), small)
    assert result.placement == "R" and result.hybrid
    assert result.position == pytest.approx((0.375, 0.375, 0.25))
    assert sum(result.position) == pytest.approx(1)
    assert any(f.rule == "hybrid-worst-state" and "beta (25%)" in f.explanation for f in result.rules)


def test_overrides_change_the_evaluated_bound(small):
    low = classify_entry(small.get("alpha"), small, BoundSettings(d=64))
    high = classify_entry(small.get("alpha"), small, BoundSettings(d=128))
    assert high.bound["max_pairs"] == pytest.approx(4 * low.bound["max_pairs"])


def test_measured_facts_go_through_the_same_rules():
    flags, fired = classify_facts({"compute": "polylog", "state": "polylog", "retrieval": "none"})
    assert flags == {"efficient": False, "compact": False, "recall": False}
    assert fired[0].rule == "growing-step"


def test_unbounded_precision_rnn_sits_on_the_CR_edge():
    text = (
        GOOD.split("\n\n")[0]
        .replace("per_step_compute: O(d^2)", "per_step_compute: O(T)")
        .replace("retrieval: none", "retrieval: exact\n    precision: growing")
    )
    registry = registry_from_text(text)
    result = classify_entry(registry.get("alpha"), registry)
    assert result.placement == "CR"


def test_every_placement_is_exercised_by_the_real_registry():
    registry = load_registry()
    placements = {classify_entry(entry, registry).placement for entry in registry}
    assert {"EC", "R", "ER"} <= placements
    assert any(entry.family == "hybrid" for entry in registry)


def test_rule_file_is_the_source_of_the_explanations(tmp_path: Path, monkeypatch):
    from archclass import classifier as module
    from archclass.paths import rules_path

    custom = tmp_path / "rules.yaml"
    custom.write_text(rules_path().read_text().replace("which does not grow with the position T", "CUSTOM"))
    module.load_rules.cache_clear()
    monkeypatch.setattr("archclass.paths.rules_path", lambda: custom)
    try:
        # A registry remembers its classifications, so load it under the rules to test.
        small = registry_from_text(GOOD + HYBRID)
        result = classify_entry(small.get("alpha"), small)
        assert "CUSTOM" in result.rules[0].explanation
    finally:
        module.load_rules.cache_clear()
