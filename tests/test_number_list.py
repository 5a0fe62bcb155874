"""Comma-separated whole numbers: sorted and distinct, and a bad list names its option and an example."""

from __future__ import annotations

import pytest

from archclass.number_list import NumberListError, comma_ints


def test_sorted_distinct_and_empty_means_none():
    assert comma_ints("1024, 256,512,256,", "--lengths") == [256, 512, 1024]
    assert comma_ints("", "--lengths") == [] and comma_ints(None, "--lengths") == []


@pytest.mark.parametrize(
    ("text", "at_least", "fragment"),
    [
        ("8,x", 1, "not a comma-separated list"),
        ("0,8", 1, "positive"),
        (",", 1, "positive"),
        ("8,8,16", 3, "at least 3"),
    ],
)
def test_a_bad_list_names_its_option_and_an_example(text, at_least, fragment):
    with pytest.raises(NumberListError) as error:
        comma_ints(text, "--lengths", "256,512,1024", at_least=at_least)
    assert error.value.option == "--lengths" and fragment in str(error.value)
    assert "e.g. 256,512,1024" in str(error.value) or "whole numbers" in str(error.value)
