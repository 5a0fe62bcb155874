"""recall-report's --exclude items: ARCH@SOURCE-FILE-NAME, a malformed one named as an --exclude problem."""

from __future__ import annotations

import pytest

from archclass.keyvalue import KeyValueError
from archclass.recall.sources import exclusions


def test_items_become_pairs():
    assert exclusions(["mamba@runs.partial.jsonl", "gla@results.json"]) == [
        ("mamba", "runs.partial.jsonl"),
        ("gla", "results.json"),
    ]


@pytest.mark.parametrize("item", ["mamba", "@runs.jsonl", "mamba@"])
def test_a_malformed_item_names_the_option(item):
    with pytest.raises(KeyValueError, match="is not ARCH@SOURCE-FILE-NAME") as error:
        exclusions([item])
    assert error.value.option == "--exclude"
