"""The registry as points on the Efficiency-Compactness-Recall triangle, laid out for drawing.

The figure (archclass.figure) and the web page (archclass.site) both draw from `triangle_points`, so
they agree, and neither the layout nor this module needs a plotting library.

Each entry keeps its classifier position (barycentric E, C, R) and gets a *plot* point in the plane,
E at (0, 0), C at (1, 0) and R at (1/2, sqrt(3)/2). Most entries share a place (three quarters sit
on the middle of the EC edge or on the R vertex), so drawn at their positions they would hide each
other. The layout therefore moves points, by fixed rules and never at random:

- An entry alone at its place is drawn there.
- Entries sharing a vertex or an edge midpoint are stacked on a hexagonal grid in a half-disc just
  *outside* the triangle at that place, in wedges by family. Inside the triangle there is then
  nothing but the hybrids, whose positions are interpolations.
- Hybrids sharing an interior position sit side by side in a row. A row keeps its height, which is
  the hybrids' share of recall-capable layers, and slides sideways if it would touch a row below.
- Entries with placement `none` have no property to put them anywhere. The classifier's position
  for them is the centre, which lies on the line every EC-plus-attention hybrid follows, so they
  are drawn in a column off the triangle instead (in several, side by side, when there are many).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archclass.classifier import Classification, classify_entry
from archclass.registry import Registry
from archclass.schema import Architecture
from archclass.vocabulary import FAMILIES, PLACEMENTS

HEIGHT = math.sqrt(3) / 2
CORNERS = {"E": (0.0, 0.0), "C": (1.0, 0.0), "R": (0.5, HEIGHT)}
CENTROID = (0.5, HEIGHT / 3)
#: Distance between neighbouring stacked points, in units of the triangle's side.
SPACING = 0.026
#: Distance between hybrids in a row inside the triangle, and the least distance between any two.
ROW_SPACING = 0.054
ROW_GAP = 0.03
#: Top of the column of `none` entries: upper left, where the triangle leaves the plane empty.
NONE_COLUMN = (-0.02, 0.86)
NONE_STEP = 0.05
#: Rows in a column of `none` entries; more start a new column to its left, so that the lowest row
#: stays clear of whatever sits at the ER midpoint.
NONE_ROWS = 7
#: A drawn id's width per character and the room for its mark before it, in units of the triangle's
#: side: a little more than the figure's 9-point DejaVu Sans needs, so that labels never touch.
LABEL_CHARACTER = 0.014
LABEL_LEAD = 0.05
#: Room kept between a column's labels and the triangle or the column to their right.
LABEL_GAP = 0.02
DECIMALS = 6
VERTEX_NAMES = {"E": "efficient", "C": "compact", "R": "recall"}
FAMILY_COLOURS = {
    "full-attention": "#d62728",
    "sparse-attention": "#ff7f0e",
    "linear-attention": "#2ca02c",
    "recurrent-transformer": "#8c564b",
    "memory-retrieval": "#e377c2",
    "ssm": "#1f77b4",
    "long-convolution": "#17becf",
    "linear-rnn": "#9467bd",
    "classic-rnn": "#7f7f7f",
    "theoretical": "#bcbd22",
    "hybrid": "#000000",
}
#: How full a marker is says how sure the registry is of the entry's scaling.
CONFIDENCE_FILL: dict[str, Any] = {"high": "full", "medium": "left", "low": "none"}


@dataclass(frozen=True)
class Stack:
    """Several entries sharing a vertex or edge midpoint, stacked in a half-disc outside it."""

    placement: str
    anchor: tuple[float, float]
    outward: tuple[float, float]
    radius: float
    count: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "placement": self.placement,
            "anchor": _rounded(self.anchor),
            "outward": _rounded(self.outward),
            "radius": round(self.radius, DECIMALS),
            "count": self.count,
        }


def plane(position: Iterable[float]) -> tuple[float, float]:
    """Barycentric (E, C, R) to the plane: E bottom left, C bottom right, R on top."""
    _, c, r = position
    return (c + r / 2, r * HEIGHT)


def place_name(placement: str) -> str:
    """Where a stack sits, in words: 'on the EC edge', 'at the R vertex'."""
    return f"on the {placement} edge" if len(placement) == 2 else f"at the {placement} vertex"


def share_text(fraction: float) -> str:
    """A layer share as the paper would write it: 7/8 rather than 87.5%, when the fraction is exact."""
    exact = Fraction(fraction).limit_denominator(64)
    if abs(float(exact) - fraction) < 1e-6:
        return str(exact.numerator) if exact.denominator == 1 else f"{exact.numerator}/{exact.denominator}"
    return f"{fraction:.0%}"


def citation_url(entry: Architecture) -> str | None:
    """Where the paper is: arXiv when known, else the entry's URL if it is a web address.

    The URL field is free text from a pull request; anything but http(s) (javascript:, data:) is
    dropped here so that no page can turn it into a link.
    """
    if entry.arxiv:
        return f"https://arxiv.org/abs/{entry.arxiv}"
    if entry.url and entry.url.lower().startswith(("https://", "http://")):
        return entry.url
    return None


def _rounded(xy: Iterable[float]) -> list[float]:
    # Adding 0.0 turns -0.0 into 0.0, so the JSON never shows "-0.0".
    return [round(v, DECIMALS) + 0.0 for v in xy]


def _is_corner_or_midpoint(position: tuple[float, ...]) -> bool:
    return sorted(round(p, DECIMALS) for p in position) in ([0.0, 0.0, 1.0], [0.0, 0.5, 0.5])


def _outward(anchor: tuple[float, float]) -> tuple[float, float]:
    dx, dy = anchor[0] - CENTROID[0], anchor[1] - CENTROID[1]
    norm = math.hypot(dx, dy)
    return (dx / norm, dy / norm)


def _stacked(anchor: tuple[float, float], outward: tuple[float, float], count: int) -> list[tuple[float, float]]:
    """`count` points on a hexagonal grid in the half-disc outside `anchor`, ordered left to right.

    The grid's rows run parallel to the triangle's side (or, at a vertex, across the outward
    direction); the points nearest the anchor are taken, then ordered by angle so that consecutive
    points form wedges. Angles and distances are rounded before sorting so that the order does not
    hang on the last bit of a float.
    """
    ux, uy = outward
    across = (-uy, ux) if (-uy, ux) > (uy, -ux) else (uy, -ux)  # the one pointing right (or up)
    reach = math.ceil(math.sqrt(2 * count)) + 2
    candidates = []
    for row in range(reach + 1):
        along = SPACING * (0.75 + row * HEIGHT)
        for step in range(-reach, reach + 1):
            side = SPACING * (step + (row % 2) / 2)
            candidates.append((round(math.hypot(side, along), 9), round(math.atan2(side, along), 9), side, along))
    nearest = sorted(candidates)[:count]
    ordered = sorted(nearest, key=lambda c: (c[1], c[0]))
    return [
        (anchor[0] + side * across[0] + along * ux, anchor[1] + side * across[1] + along * uy)
        for _, _, side, along in ordered
    ]


def _family_order(point: dict[str, Any]) -> tuple[int, int, str]:
    return (FAMILIES.index(point["family"]), point["year"], point["id"])


def _point(entry: Architecture, result: Classification) -> dict[str, Any]:
    if entry.inference is not None:
        compute, state = entry.inference.per_step_compute, entry.inference.state_size
    else:
        compute = f"worst of its layers: O({result.compute_growth})"
        state = f"worst of its layers: O({result.state_growth})"
    return {
        "id": entry.id,
        "name": entry.name,
        "year": entry.year,
        "family": entry.family,
        "confidence": entry.confidence,
        "placement": result.placement,
        "position": _rounded(result.position),
        "plot": [0.0, 0.0],
        "hybrid": result.hybrid,
        "components": None,
        "compute": compute,
        "state": state,
        "rules": [
            {"rule": f.rule, "property": f.property, "value": f.value, "explanation": f.explanation}
            for f in result.rules
        ],
        "summary": entry.summary,
        "evidence": entry.evidence,
        "citation": citation_url(entry),
        "aliases": list(entry.aliases),
        "tags": [str(tag) for tag in entry.tags],
    }


def triangle_points(registry: Registry) -> dict[str, Any]:
    """Every entry with its classification, its plot point and, for a hybrid, its composition."""
    classified = [(entry, classify_entry(entry, registry)) for entry in registry]
    points = [_point(entry, result) for entry, result in classified]
    by_id = {point["id"]: point for point in points}
    for entry, _ in classified:
        if entry.components:
            by_id[entry.id]["components"] = [
                {
                    "id": c.arch,
                    "fraction": round(c.fraction, DECIMALS),
                    "share": share_text(c.fraction),
                    "placement": by_id[c.arch]["placement"],
                }
                for c in entry.components
            ]
    stacks = _lay_out(points)
    return {
        "vertices": {name: _rounded(xy) for name, xy in CORNERS.items()},
        "spacing": SPACING,
        "stacks": [stack.as_dict() for stack in stacks],
        "points": points,
    }


def _lay_out(points: list[dict[str, Any]]) -> list[Stack]:
    """Fill in each point's "plot"; return the stacks drawn outside the triangle."""
    _lay_out_unplaced(sorted((p for p in points if p["placement"] == "none"), key=lambda p: p["id"]))

    groups: dict[tuple[float, ...], list[dict[str, Any]]] = defaultdict(list)
    for point in points:
        if point["placement"] != "none":
            groups[tuple(point["position"])].append(point)
    stacks = []
    rows: list[tuple[tuple[float, float], list[dict[str, Any]]]] = []
    for position, members in sorted(groups.items()):
        anchor = plane(position)
        if not _is_corner_or_midpoint(position):
            rows.append((anchor, sorted(members, key=lambda p: p["id"])))
        elif len(members) == 1:
            members[0]["plot"] = _rounded(anchor)
        else:
            members.sort(key=_family_order)
            outward = _outward(anchor)
            spots = _stacked(anchor, outward, len(members))
            for member, spot in zip(members, spots, strict=True):
                member["plot"] = _rounded(spot)
            radius = max(math.dist(anchor, spot) for spot in spots) + SPACING / 2
            placements = sorted({m["placement"] for m in members}, key=PLACEMENTS.index)
            stacks.append(Stack("/".join(placements), anchor, outward, radius, len(members)))
    _lay_out_rows(rows)
    return stacks


def _lay_out_unplaced(unplaced: list[dict[str, Any]]) -> None:
    """Entries with no property in columns of NONE_ROWS, right to left, each column's labels clear of
    the ER edge (the first) or of the column to their right (the others)."""
    right = math.inf
    for start in range(0, len(unplaced), NONE_ROWS):
        column = unplaced[start : start + NONE_ROWS]
        width = LABEL_LEAD + LABEL_CHARACTER * max(len(p["id"]) for p in column)
        if start == 0:
            lowest = NONE_COLUMN[1] - (len(column) - 1) * NONE_STEP
            x = min(NONE_COLUMN[0], lowest / (2 * HEIGHT) - LABEL_GAP - width)
        else:
            x = right - LABEL_GAP - width
        for index, point in enumerate(column):
            point["plot"] = _rounded((x, NONE_COLUMN[1] - index * NONE_STEP))
        right = x


def _lay_out_rows(rows: list[tuple[tuple[float, float], list[dict[str, Any]]]]) -> None:
    """Interior points, bottom row first: each row centred on its position, slid sideways if needed."""
    placed: list[tuple[float, float]] = []
    shifts = [0.0] + [sign * ROW_SPACING * k / 4 for k in range(1, 9) for sign in (1, -1)]
    for (x, y), members in sorted(rows, key=lambda row: (round(row[0][1], DECIMALS), round(row[0][0], DECIMALS))):
        middle = (len(members) - 1) / 2
        base = [(x + (index - middle) * ROW_SPACING, y) for index in range(len(members))]
        for shift in shifts:
            spots = [(bx + shift, by) for bx, by in base]
            if all(math.dist(spot, other) >= ROW_GAP for spot in spots for other in placed):
                break
        placed.extend(spots)
        for member, spot in zip(members, spots, strict=True):
            member["plot"] = _rounded(spot)
