"""KEY=VALUE options parse one way everywhere, and a bad item names its option."""

from __future__ import annotations

import pytest

from archclass.errors import ArchclassError
from archclass.keyvalue import KeyValueError, finite_number, json_value, parse_pairs


def test_values_are_read_as_json_when_they_parse():
    assert parse_pairs(["d_model=64", "causal=true", "name=mamba", "sizes=[1, 2]"], "--kw", "d_model=64") == {
        "d_model": 64,
        "causal": True,
        "name": "mamba",
        "sizes": [1, 2],
    }
    assert json_value("NaN") == "NaN"  # not a float NaN


def test_a_converter_applies_to_each_value():
    assert parse_pairs([" w = 4096 "], "--set", "w=4096", finite_number) == {"w": 4096.0}


@pytest.mark.parametrize(
    ("item", "fragment"), [("w", "is not KEY=NUMBER"), ("=4", "is not KEY=NUMBER"), ("w=inf", "finite")]
)
def test_a_bad_item_names_the_option_and_an_example(item, fragment):
    with pytest.raises(KeyValueError) as error:
        parse_pairs([item], "--set", "w=4096", finite_number, what="NUMBER")
    assert error.value.option == "--set" and isinstance(error.value, ArchclassError)
    assert fragment in str(error.value) and "e.g. --set w=4096" in str(error.value)
