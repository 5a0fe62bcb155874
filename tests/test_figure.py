from __future__ import annotations

import re

import pytest

from archclass.registry import registry_from_text
from archclass.triangle import triangle_points

from .test_registry import GOOD, HYBRID

pytest.importorskip("matplotlib")

from archclass.figure import draw, hybrid_numbers  # noqa: E402

OTHER_HYBRID = (
    HYBRID.replace("id: gamma", "id: gamma-2")
    .replace("name: Gamma", "name: Gamma 2")
    .replace("fraction: 0.75}, {arch: beta, fraction: 0.25}", "fraction: 0.5}, {arch: beta, fraction: 0.5}")
)


@pytest.fixture(scope="module")
def drawn():
    data = triangle_points(registry_from_text(GOOD + HYBRID + OTHER_HYBRID))
    return data, *draw(data)


def test_drawing_twice_gives_the_same_bytes(drawn):
    data, png, svg = drawn
    assert draw(data) == (png, svg)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_svg_keeps_text_as_text_and_has_no_date(drawn):
    _, _, svg = drawn
    text = svg.decode("utf-8")
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", text)
    assert "gamma" in labels and "gamma-2" in labels
    assert "3/4 alpha + 1/4 beta  → R" in labels
    assert "<dc:date>" not in text


def test_png_has_no_software_stamp(drawn):
    _, png, _ = drawn
    assert b"Software" not in png and b"matplotlib" not in png.lower()


def test_each_hybrid_gets_its_own_number_from_the_top_down(drawn):
    data, _, _ = drawn
    # gamma-2 has half its layers recall-capable, gamma a quarter: gamma-2 sits higher.
    assert hybrid_numbers(data["points"]) == {"gamma-2": 1, "gamma": 2}
