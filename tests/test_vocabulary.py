"""Each word is defined once, in vocabulary.py, and the rest of the library speaks it."""

from __future__ import annotations

import pytest

from archclass.classifier import load_rules, placement_of
from archclass.complexity import parse
from archclass.paths import rules_path
from archclass.schema import json_schema
from archclass.vocabulary import (
    GROWTH_CLASSES,
    PLACEMENTS,
    PRECISIONS,
    PROPERTIES,
    RETRIEVALS,
    GrowthClass,
    Placement,
)


def test_parsed_growth_is_a_vocabulary_growth_class_in_rank_order():
    strings = ["O(d)", "O(log(T))", "O(sqrt(T))", "O(T d)", "O(T^2)"]
    classes = [parse(text).growth.growth_class for text in strings]
    assert all(isinstance(c, GrowthClass) for c in classes)
    assert [c.rank for c in classes] == [0, 1, 2, 3, 4]
    assert tuple(classes) == GROWTH_CLASSES


def test_every_placement_the_classifier_gives_is_in_the_vocabulary():
    flags = [(e, c, r) for e in (True, False) for c in (True, False) for r in (True, False) if not (e and c and r)]
    placements = {placement_of(*f) for f in flags}
    assert all(isinstance(p, Placement) for p in placements)
    assert placements == set(PLACEMENTS)


def test_the_schema_offers_exactly_the_vocabulary():
    defs = json_schema()["definitions"]
    assert defs["Retrieval"]["enum"] == list(RETRIEVALS)
    assert defs["Precision"]["enum"] == list(PRECISIONS)
    assert defs["Property"]["enum"] == list(PROPERTIES)


def test_a_rule_testing_a_value_outside_the_vocabulary_is_refused(tmp_path):
    custom = tmp_path / "rules.yaml"
    custom.write_text(rules_path().read_text().replace("when: {compute: [constant]}", "when: {compute: [konstant]}"))
    with pytest.raises(RuntimeError, match="konstant"):
        load_rules(custom)
