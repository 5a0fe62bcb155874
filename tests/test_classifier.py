from __future__ import annotations

import json
from pathlib import Path

import pytest

from archclass.classifier import (
    BoundSettings,
    SettingsError,
    classify_entry,
    classify_facts,
    placement_of,
    position_of,
)
from archclass.errors import RegistryError
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


WINDOWED = (
    GOOD.replace("per_step_compute: O(d^2)", "per_step_compute: O(w d)")
    .replace("state_size: O(d^2)", "state_size: O(w d)\n    state_scalars: 2*w*d")
    .replace(
        "  evidence: Sec. 1.\n", "  hyperparameters:\n    w: {meaning: window, value: 16}\n  evidence: Sec. 1.\n", 1
    )
)


@pytest.fixture
def windowed():
    return registry_from_text(WINDOWED + HYBRID)


def test_an_override_sets_the_entrys_own_symbol(windowed):
    default = windowed.classification("alpha", BoundSettings(d=64, layers=1))
    wider = windowed.classification("alpha", BoundSettings(d=64, layers=1, overrides={"w": 32}))
    assert default.bound["state_scalars_per_layer"] == 2 * 16 * 64
    assert wider.bound["state_scalars_per_layer"] == 2 * 32 * 64


def test_an_unknown_symbol_is_an_error_listing_the_entrys_symbols(windowed):
    with pytest.raises(SettingsError) as error:
        windowed.classification("alpha", BoundSettings(overrides={"window": 4096}))
    assert str(error.value) == "'alpha' has no symbol 'window'; its symbols are w"
    assert error.value.symbol == "window" and error.value.known == ("w",)
    with pytest.raises(SettingsError, match="declares no hyperparameters"):
        windowed.classification("beta", BoundSettings(overrides={"w": 8}))
    with pytest.raises(SettingsError, match="--d"):
        windowed.classification("alpha", BoundSettings(overrides={"d": 8}))


def test_a_hybrid_accepts_the_symbols_of_its_components(windowed):
    result = windowed.classification("gamma", BoundSettings(overrides={"w": 8}))
    assert result.hybrid
    with pytest.raises(SettingsError, match="its symbols are w"):
        windowed.classification("gamma", BoundSettings(overrides={"k": 8}))


def test_the_real_sliding_window_refuses_window_and_names_w():
    with pytest.raises(SettingsError, match="'sliding-window-attention' has no symbol 'window'; its symbols are .*w"):
        load_registry(full_check=False).classification(
            "sliding-window-attention", BoundSettings(overrides={"window": 4096})
        )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0.0])
def test_settings_refuse_values_that_are_not_finite_and_positive(value):
    with pytest.raises(SettingsError, match="finite number > 0"):
        BoundSettings(overrides={"w": value})
    with pytest.raises(SettingsError, match="finite number > 0"):
        BoundSettings(d=value)
    with pytest.raises(SettingsError):
        BoundSettings(layers=2.5)


def test_settings_keep_their_own_copy_of_the_overrides(windowed):
    overrides = {"w": 32.0}
    settings = BoundSettings(d=64, layers=1, overrides=overrides)
    overrides["w"] = 1.0
    assert windowed.classification("alpha", settings).bound["state_scalars_per_layer"] == 2 * 32 * 64


def test_classifying_the_whole_registry_applies_each_override_where_it_belongs(windowed):
    results = windowed.classifications(BoundSettings(d=64, layers=1, overrides={"w": 32}))
    assert [r.id for r in results] == ["alpha", "beta", "gamma"]
    assert results[0].bound["state_scalars_per_layer"] == 2 * 32 * 64
    with pytest.raises(SettingsError, match="the registry has no symbol 'window'; its symbols are w"):
        windowed.classifications(BoundSettings(overrides={"window": 4096}))


CLUSTERED = (
    GOOD.split("\n\n")[0]
    .replace("per_step_compute: O(d^2)", "per_step_compute: O(k d)")
    .replace("state_size: O(d^2)", "state_size: O(k d)")
    .replace(
        "  evidence: Sec. 1.",
        "  hyperparameters:\n    k: {meaning: clusters, value: 64}\n  recipe: {k: sqrt(T)}\n  evidence: Sec. 1.",
    )
    + "\n\n"
    + GOOD.split("\n\n")[1]
    + HYBRID
)


def test_the_recipe_reading_grows_the_knob_with_T():
    registry = registry_from_text(CLUSTERED)
    result = registry.classification("alpha", BoundSettings(d=64, layers=1))
    assert (result.placement, result.reading, result.compute_growth) == ("EC", "fixed", "1")
    recipe = result.recipe
    assert recipe is not None and recipe.reading == "recipe" and recipe.recipe is None
    assert (recipe.placement, recipe.compute_growth, recipe.state_growth) == ("none", "T^1/2", "T^1/2")
    assert "O(sqrt(T) d)" in recipe.rules[0].explanation
    assert registry.classification("beta").recipe is None


def test_a_hybrid_gets_a_recipe_reading_from_its_components():
    registry = registry_from_text(CLUSTERED)
    result = registry.classification("gamma")
    assert result.recipe is not None and result.recipe.reading == "recipe" and result.recipe.hybrid
    assert result.position == pytest.approx((0.375, 0.375, 0.25))
    # alpha moves from the EC edge to the centre; beta stays at R.
    assert result.recipe.position == pytest.approx((0.75 / 3, 0.75 / 3, 0.75 / 3 + 0.25))


def test_as_dict_nests_the_recipe_reading_and_keeps_the_old_keys():
    data = registry_from_text(CLUSTERED).classification("alpha").as_dict()
    old_keys = {"id", "efficient", "compact", "recall", "placement", "position", "rules", "bound"}
    assert old_keys | {"compute_growth", "state_growth", "hybrid", "reading", "recipe"} == set(data)
    assert data["recipe"]["position"] == [pytest.approx(1 / 3)] * 3 and data["recipe"]["recipe"] is None
    assert json.loads(json.dumps(data)) == data


def test_the_recipe_reading_is_checked_against_the_theorem():
    text = (
        GOOD.split("\n\n")[0]
        .replace("state_size: O(d^2)", "state_size: O(T/l d)")
        .replace("retrieval: none", "retrieval: exact")
        .replace("  evidence: Sec. 1.", "  hyperparameters: {l: block}\n  recipe: {l: T}\n  evidence: Sec. 1.")
    )
    with pytest.raises(RegistryError) as error:
        registry_from_text(text, "r.yaml")
    [issue] = error.value.issues
    assert issue.field == "recipe" and issue.line == 12
    assert "in the paper's recipe reading (l = T)" in issue.message and "E and C imply not R" in issue.message
