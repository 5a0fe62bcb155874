from __future__ import annotations

import re

import pytest

from archclass.registry import load_registry, registry_from_text
from archclass.triangle import triangle_points

from .test_registry import GOOD, HYBRID
from .test_triangle import crowded_registry

pytest.importorskip("matplotlib")

from archclass.figure import draw, drawn_figure, hybrid_numbers, rows_per_column  # noqa: E402

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


@pytest.fixture(scope="module", params=["real", "crowded"])
def measured(request):
    """The laid-out figure of the real registry, or of one with many more hybrids, stacks at every vertex
    and a long list of unplaced entries, as measured boxes (in pixels): {id: box} for the texts and the
    legends, the boxes of the marks, and the shapes (the triangle, then the stacks' half-discs)."""
    registry = load_registry() if request.param == "real" else crowded_registry()
    data = triangle_points(registry)
    with drawn_figure(data) as fig:
        fig.canvas.draw()  # lays out the legends' contents as saving would
        renderer = fig.canvas.get_renderer()
        [ax] = fig.axes
        texts = {text.get_gid() or f"text-{i}": text.get_window_extent(renderer) for i, text in enumerate(ax.texts)}
        legends = {legend.get_gid(): legend.get_window_extent(renderer) for legend in ax.artists}
        for legend in ax.artists:
            for index, text in enumerate([legend.get_title(), *legend.get_texts()]):
                texts[f"{legend.get_gid()}-{index}"] = text.get_window_extent(renderer)
        yield {
            "data": data,
            "texts": texts,
            "legends": legends,
            "marks": [line.get_window_extent(renderer) for line in ax.lines if line.get_marker() not in ("None", "")],
            "shapes": [patch.get_path().transformed(patch.get_transform()) for patch in ax.patches],
            "figure": fig.bbox,
        }


def overlapping(boxes):
    named = sorted(boxes.items())
    return [(a, b) for i, (a, box) in enumerate(named) for b, other in named[i + 1 :] if box.overlaps(other)]


def test_a_long_list_of_hybrids_stays_clear_of_the_legends(measured):
    hybrids = sum(1 for p in measured["data"]["points"] if p["components"])
    listed = {gid: box for gid, box in measured["texts"].items() if gid.startswith("hybrid")}
    assert len(listed) == 2 * hybrids + 1  # the heading, and each hybrid's id and composition
    assert set(measured["legends"]) == {"legend-family", "legend-confidence"}
    clashes = [(a, b) for a, b in overlapping({**listed, **measured["legends"]}) if "legend" in a + b]
    assert clashes == []


def test_no_text_overlaps_another_or_leaves_the_figure(measured):
    texts, whole = measured["texts"], measured["figure"]
    assert overlapping(texts) == []
    assert [
        gid
        for gid, box in texts.items()
        if box.x0 < whole.x0 or box.y0 < whole.y0 or box.x1 > whole.x1 or box.y1 > whole.y1
    ] == []


def test_vertex_names_and_point_labels_are_clear_of_every_mark_and_shape(measured):
    labels = {gid: box for gid, box in measured["texts"].items() if gid.startswith(("vertex-", "label-"))}
    assert {"vertex-E", "vertex-C", "vertex-R", "label-retrieval-attention"} <= set(labels)
    for gid, box in labels.items():
        assert not any(box.overlaps(mark) for mark in measured["marks"]), gid
        assert not any(shape.intersects_bbox(box) for shape in measured["shapes"]), gid


def test_the_crowded_registry_really_crowds_the_figure():
    data = triangle_points(crowded_registry())
    assert sum(1 for p in data["points"] if p["components"]) >= 60
    assert {s["placement"] for s in data["stacks"]} >= {"E", "C", "R", "EC"}


def test_a_list_too_long_to_stand_beside_the_triangle_is_split_into_columns():
    widths = [0.8] * 40
    # Beside a part 1.4 high, one column of 40 would make the figure far taller than two of 20.
    assert rows_per_column(widths, (1.5, 1.4), 0.05, (0.8, 0.4)) == 20
    assert rows_per_column(widths[:10], (1.5, 1.4), 0.05, (0.8, 0.4)) == 10
