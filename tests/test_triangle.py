from __future__ import annotations

import math

import pytest

from archclass.registry import load_registry, registry_from_text
from archclass.triangle import CORNERS, FAMILY_COLOURS, HEIGHT, plane, share_text, triangle_points
from archclass.vocabulary import FAMILIES

from .conftest import REGISTRY
from .test_registry import GOOD, HYBRID

NONE_ENTRY = """
- id: delta
  name: Delta
  year: 2023
  arxiv: '2301.00001'
  family: long-convolution
  summary: Neither efficient, compact nor recalling.
  inference:
    per_step_compute: O(T d)
    state_size: O(T d)
    retrieval: none
  evidence: Sec. 4.
"""


def synthetic_entry(entry_id: str, family: str, compute: str, state: str) -> str:
    return f"""
- id: {entry_id}
  name: {entry_id.title()}
  year: 2025
  arxiv: '2501.00001'
  family: {family}
  summary: A made-up entry.
  inference:
    per_step_compute: {compute}
    state_size: {state}
    retrieval: none
  evidence: Sec. 1.
"""


def synthetic_hybrids(count: int) -> str:
    """`count` made-up hybrids of real entries, in a dozen or so compositions (so some share a place)."""
    pairs = [("mamba", "gqa"), ("mamba-2", "transformer"), ("gated-deltanet", "gqa"), ("retnet", "mamba")]
    text = ""
    for index in range(count):
        low, high = pairs[index % len(pairs)]
        layers = 2 + index % 7
        text += f"""
- id: made-up-hybrid-number-{index:02d}
  name: Made-up hybrid {index}
  year: 2025
  arxiv: '2501.00002'
  family: hybrid
  summary: A made-up hybrid.
  components: [{{arch: {low}, fraction: {(layers - 1) / layers!r}}}, {{arch: {high}, fraction: {1 / layers!r}}}]
  evidence: Sec. 1.
"""
    return text


def crowded_registry():
    """The real registry and then some: 40 more hybrids, 12 entries with no property and long ids, and
    stacks at the E and C vertices, which have none yet."""
    extra = synthetic_hybrids(40)
    extra += "".join(
        synthetic_entry(f"made-up-entry-with-no-property-{i:02d}", "long-convolution", "O(T d)", "O(T d)")
        for i in range(12)
    )
    extra += "".join(synthetic_entry(f"made-up-efficient-{i}", "sparse-attention", "O(d)", "O(T d)") for i in range(4))
    extra += "".join(synthetic_entry(f"made-up-compact-{i}", "classic-rnn", "O(T d)", "O(d)") for i in range(4))
    # Appended out of id order, which only the full check minds.
    return registry_from_text(REGISTRY.read_text(encoding="utf-8") + extra, full_check=False)


def inside_triangle(x: float, y: float) -> bool:
    # Barycentric coordinates of (x, y) all non-negative, with a little slack for rounding.
    r = y / CORNERS["R"][1]
    c = x - r / 2
    return min(1 - c - r, c, r) >= -1e-9


@pytest.fixture(scope="module")
def real():
    return triangle_points(load_registry())


def test_every_entry_is_drawn_apart_from_every_other(real):
    spots = [tuple(p["plot"]) for p in real["points"]]
    closest = min(math.dist(a, b) for i, a in enumerate(spots) for b in spots[i + 1 :])
    assert closest >= 0.025, "two points overlap, so one of them cannot be hovered"


def test_only_hybrids_are_drawn_inside_the_triangle(real):
    for point in real["points"]:
        x, y = point["plot"]
        strictly_inside = (
            inside_triangle(x, y) and y > 1e-9 and point["placement"] not in ("E", "C", "R", "EC", "ER", "CR")
        )
        if strictly_inside:
            assert point["hybrid"], point["id"]


def test_stacked_points_sit_outside_the_triangle_near_their_place(real):
    assert {s["placement"] for s in real["stacks"]} >= {"EC", "R"}
    for stack in real["stacks"]:
        members = stacked(real, stack)
        assert len(members) == stack["count"]
        for point in members:
            offset = [point["plot"][i] - stack["anchor"][i] for i in range(2)]
            assert math.hypot(*offset) <= stack["radius"]
            assert offset[0] * stack["outward"][0] + offset[1] * stack["outward"][1] > 0.01, point["id"]


def stacked(data, stack):
    return [
        p
        for p in data["points"]
        if p["placement"] != "none" and plane(p["position"]) == pytest.approx(tuple(stack["anchor"]), abs=1e-6)
    ]


def test_a_stack_groups_its_families_in_wedges(real):
    ec = next(s for s in real["stacks"] if s["placement"] == "EC")
    members = stacked(real, ec)
    (ax, ay) = ec["anchor"]
    by_angle = sorted(
        members,
        key=lambda p: (round(math.atan2(p["plot"][0] - ax, ay - p["plot"][1]), 6), math.dist(p["plot"], (ax, ay))),
    )
    runs = [f for i, f in enumerate(p["family"] for p in by_angle) if i == 0 or f != by_angle[i - 1]["family"]]
    assert len(runs) == len({p["family"] for p in members}), "a family is split across the stack"


def test_hybrids_keep_their_height_and_compositions(real):
    jamba = next(p for p in real["points"] if p["id"] == "jamba")
    assert jamba["plot"][1] == pytest.approx(plane(jamba["position"])[1], abs=1e-6)
    assert [(c["id"], c["share"], c["placement"]) for c in jamba["components"]] == [
        ("mamba", "7/8", "EC"),
        ("gqa", "1/8", "R"),
    ]


def test_entries_with_no_property_are_off_the_triangle_and_off_the_hybrid_line():
    data = triangle_points(registry_from_text(GOOD + NONE_ENTRY + HYBRID))
    delta = next(p for p in data["points"] if p["id"] == "delta")
    assert delta["placement"] == "none" and delta["position"] == [0.333333, 0.333333, 0.333333]
    assert not inside_triangle(*delta["plot"])
    assert delta["plot"][0] != pytest.approx(0.5)


def test_many_entries_with_no_property_stand_in_columns_clear_of_the_triangle():
    data = triangle_points(crowded_registry())
    unplaced = [p for p in data["points"] if p["placement"] == "none"]
    assert len(unplaced) == 17
    columns: dict[float, list[dict]] = {}
    for point in unplaced:
        columns.setdefault(point["plot"][0], []).append(point)
    assert len(columns) == 3, "17 entries make three columns of at most seven"
    for x, column in columns.items():
        lowest = min(p["plot"][1] for p in column)
        # Left of the ER edge at the lowest row's height, and above the ER midpoint's neighbourhood.
        assert x < lowest / (2 * HEIGHT) and lowest > HEIGHT / 2 + 0.1
    assert {p["plot"][1] for p in unplaced} == {p["plot"][1] for p in next(iter(columns.values()))}


def test_a_link_to_the_paper_is_only_ever_a_web_address():
    hostile = GOOD.replace("  arxiv: '2001.00001'\n", "  url: 'javascript:alert(1)'\n")
    data = triangle_points(registry_from_text(hostile))
    alpha, beta = sorted(data["points"], key=lambda p: p["id"])
    assert alpha["citation"] is None
    assert beta["citation"] == "https://arxiv.org/abs/2101.00001"


@pytest.mark.parametrize(
    ("fraction", "text"), [(0.875, "7/8"), (0.8333333, "5/6"), (0.453125, "29/64"), (1.0, "1"), (0.123456, "12%")]
)
def test_shares_are_written_as_fractions_when_exact(fraction, text):
    assert share_text(fraction) == text


def test_every_family_has_a_colour():
    assert set(FAMILY_COLOURS) == set(FAMILIES)
