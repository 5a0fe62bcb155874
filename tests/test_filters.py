"""select_rows: the registry filtered in memory, as `archclass list` shows it."""

from __future__ import annotations

import pytest

from archclass.filters import Filters, select_rows
from archclass.registry import registry_from_text

from .test_registry import GOOD, HYBRID

REGISTRY = registry_from_text(GOOD + HYBRID)


def ids(**filters) -> list[str]:
    return [row["id"] for row in select_rows(REGISTRY, Filters(**filters))]


def test_no_filter_selects_everything_by_id():
    assert ids() == ["alpha", "beta", "gamma"]


def test_flags_and_placements():
    assert ids(efficient=True, compact=True) == ["alpha"]
    assert ids(recall=True) == ["beta", "gamma"]
    assert ids(hybrid=True) == ["gamma"] and ids(hybrid=False) == ["alpha", "beta"]
    assert ids(placements=("EC", "R")) == ["alpha", "beta", "gamma"]
    assert ids(placements=("E",)) == []


def test_entry_fields():
    assert ids(families=("full-attention",)) == ["beta"]
    assert ids(year_from=2021) == ["beta", "gamma"] and ids(year_to=2021) == ["alpha", "beta"]
    assert ids(search="B-MOD") == ["beta"]  # an alias, case-insensitively
    assert ids(search="%") == []  # taken literally
    assert ids(ids=("gamma",)) == ["gamma"]
    assert ids(tags=("kv-cache",)) == []


def test_sort_descending_and_limit():
    assert ids(sort="year", descending=True) == ["gamma", "beta", "alpha"]
    assert ids(sort="family", limit=2) == ["beta", "gamma"]
    with pytest.raises(ValueError, match="cannot sort by 'colour'"):
        ids(sort="colour")


def test_rows_have_the_shape_of_query_rows():
    [alpha] = select_rows(REGISTRY, Filters(ids=("alpha",)))
    assert alpha["placement"] == "EC" and alpha["position"] == [0.5, 0.5, 0.0]
    assert alpha["arxiv"] == "2001.00001" and alpha["max_pairs"] > 0 and alpha["hybrid"] is False
    [gamma] = select_rows(REGISTRY, Filters(ids=("gamma",)))
    assert gamma["hybrid"] is True and gamma["max_pairs"] is None
