"""The triangle figure (PNG and SVG) for papers and the README, drawn with matplotlib.

It draws the points laid out by archclass.triangle. Each hybrid is a numbered disc joined to its
components by lines as wide as their layer shares, and the numbered list beside the triangle gives
its composition and its class. Output is deterministic for a given matplotlib: the SVG keeps text as
text (searchable, diffable), has no date and a fixed hash salt for its ids, and the PNG carries no
software stamp, so `render --check` can redraw both and compare.
"""

from __future__ import annotations

import io
import math
import textwrap
from typing import Any

from archclass.triangle import CENTROID, CONFIDENCE_FILL, CORNERS, FAMILY_COLOURS, VERTEX_NAMES, place_name
from archclass.vocabulary import FAMILIES

EXPLANATION = (
    "Entries sharing a vertex or edge midpoint are stacked just outside it, in wedges by family. "
    "A hybrid (numbered) sits at the layer-share-weighted mean of its components' places and is joined "
    "to each component by a line as wide as that component's share of layers, so its height is its share "
    "of recall-capable layers (a white disc: not of high confidence). Its class (after the arrow) comes "
    "from the rules, not from where it sits: "
    "one layer whose state grows with T makes the whole stack non-compact."
)
FONT = 9
DPI = 150
FIGSIZE = (13.0, 8.6)
LIMITS = ((-0.3, 2.0), (-0.42, 1.02))
MARKER = 6.5
HYBRID_MARKER = 9.2


def _rc() -> dict[Any, Any]:
    return {
        "svg.fonttype": "none",  # text stays <text>: searchable and diffable
        "svg.hashsalt": "archclass-triangle",
        "font.family": "DejaVu Sans",  # ships with matplotlib, so text is laid out alike everywhere
        "font.size": FONT,
        "path.simplify": False,
    }


def draw(data: dict[str, Any]) -> tuple[bytes, bytes]:
    """The figure as (PNG bytes, SVG bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context(_rc()):
        fig = plt.figure(figsize=FIGSIZE)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        _draw_on(ax, data)
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", dpi=DPI, metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None})
        plt.close(fig)
    return png.getvalue(), svg.getvalue()


def hybrid_numbers(points: list[dict[str, Any]]) -> dict[str, int]:
    """Hybrids numbered from the top of the triangle down, left to right within a row."""
    hybrids = sorted((p for p in points if p["components"]), key=lambda p: (-p["plot"][1], p["plot"][0], p["id"]))
    return {point["id"]: index for index, point in enumerate(hybrids, start=1)}


def _draw_on(ax: Any, data: dict[str, Any]) -> None:
    points = data["points"]
    numbers = hybrid_numbers(points)
    ax.set_xlim(*LIMITS[0])
    ax.set_ylim(*LIMITS[1])
    ax.set_aspect("equal")
    ax.axis("off")

    outline = [CORNERS["E"], CORNERS["C"], CORNERS["R"], CORNERS["E"]]
    ax.fill(*zip(*outline, strict=True), color="#f4f4f4", zorder=0)
    ax.plot(*zip(*outline, strict=True), color="#222222", linewidth=1.2, zorder=1)
    _draw_stacks(ax, data["stacks"])
    _name_vertices(ax, data["stacks"])
    _draw_compositions(ax, points)
    for point in points:
        if point["id"] in numbers:
            _numbered_marker(ax, point["plot"], numbers[point["id"]], point["confidence"])
        else:
            _marker(ax, point["plot"], point["family"], point["confidence"])
    _label_lone_entries(ax, points, data["stacks"])
    _label_unplaced(ax, points)
    _list_hybrids(ax, points, numbers)
    _legend(ax)
    ax.text(-0.28, -0.41, textwrap.fill(EXPLANATION, 120), ha="left", va="bottom", fontsize=FONT, color="#333333")


def _marker(ax: Any, xy: list[float], family: str, confidence: str, size: float = MARKER) -> None:
    colour = FAMILY_COLOURS[family]
    ax.plot(
        *xy,
        marker="o",
        markersize=size,
        fillstyle=CONFIDENCE_FILL[confidence],
        color=colour,
        markerfacecoloralt="white",
        markeredgecolor=colour,
        markeredgewidth=1.0,
        linestyle="",
        zorder=4,
    )


def _numbered_marker(ax: Any, xy: list[float], number: int, confidence: str) -> None:
    """A hybrid: a black disc with its number; a white one with a black ring when not of high confidence."""
    solid = confidence == "high"
    ax.plot(
        *xy,
        marker="o",
        markersize=HYBRID_MARKER,
        markerfacecolor="black" if solid else "white",
        markeredgecolor="black",
        markeredgewidth=1.0,
        linestyle="",
        zorder=5,
    )
    ax.text(
        *xy,
        str(number),
        ha="center",
        va="center_baseline",
        fontsize=6,
        weight="bold",
        color="white" if solid else "black",
        zorder=6,
    )


def _draw_stacks(ax: Any, stacks: list[dict[str, Any]]) -> None:
    from matplotlib.patches import Wedge

    for stack in stacks:
        (x, y), (ux, uy), radius = stack["anchor"], stack["outward"], stack["radius"]
        facing = math.degrees(math.atan2(uy, ux))
        wedge = Wedge((x, y), radius, facing - 90, facing + 90, facecolor="white", edgecolor="#bbbbbb", linewidth=0.8)
        ax.add_patch(wedge)
        ax.plot([x], [y], marker="o", markersize=3, color="#222222", zorder=3)
        ax.text(
            x + ux * (radius + 0.025),
            y + uy * (radius + 0.025),
            f"{stack['count']} {place_name(stack['placement'])}",
            ha="center",
            va="bottom" if uy > 0 else "top",
            fontsize=FONT + 1,
            color="#444444",
        )


def _name_vertices(ax: Any, stacks: list[dict[str, Any]]) -> None:
    stacked = {tuple(s["anchor"]) for s in stacks}
    for letter, (x, y) in CORNERS.items():
        text = f"{letter}  {VERTEX_NAMES[letter]}"
        if letter == "R":
            # Beside the vertex, clear of a stack above it.
            ax.text(
                x + 0.05 + (0.1 if (round(x, 6), round(y, 6)) in stacked else 0),
                y,
                text,
                ha="left",
                va="center",
                fontsize=14,
                weight="bold",
            )
        else:
            ax.text(
                x + (-0.03 if letter == "E" else 0.03),
                y - 0.03,
                text,
                ha="right" if letter == "E" else "left",
                va="top",
                fontsize=14,
                weight="bold",
            )


def _draw_compositions(ax: Any, points: list[dict[str, Any]]) -> None:
    by_id = {p["id"]: p for p in points}
    for point in points:
        for component in point["components"] or []:
            part = by_id[component["id"]]
            ax.plot(
                [part["plot"][0], point["plot"][0]],
                [part["plot"][1], point["plot"][1]],
                color=FAMILY_COLOURS[part["family"]],
                linewidth=0.3 + 3.0 * component["fraction"],
                alpha=0.3,
                solid_capstyle="round",
                zorder=2,
            )


def _label_lone_entries(ax: Any, points: list[dict[str, Any]], stacks: list[dict[str, Any]]) -> None:
    """Entries alone at a vertex or edge midpoint: their id, outward from the triangle."""
    for point in points:
        if point["components"] or point["placement"] == "none":
            continue
        x, y = point["plot"]
        if any(math.dist((x, y), s["anchor"]) <= s["radius"] + 1e-9 for s in stacks):
            continue
        dx, dy = x - CENTROID[0], y - CENTROID[1]
        norm = math.hypot(dx, dy)
        ax.annotate(
            point["id"],
            (x, y),
            xytext=(dx / norm * 8, dy / norm * 8),
            textcoords="offset points",
            ha="right" if dx < 0 else "left",
            va="top" if dy < 0 else "bottom",
            fontsize=FONT,
        )


def _label_unplaced(ax: Any, points: list[dict[str, Any]]) -> None:
    unplaced = sorted((p for p in points if p["placement"] == "none"), key=lambda p: -p["plot"][1])
    if not unplaced:
        return
    x, top = unplaced[0]["plot"]
    ax.text(
        x - 0.02,
        top + 0.035,
        "none of E, C, R (off the triangle)",
        ha="left",
        va="bottom",
        fontsize=FONT + 1,
        color="#444444",
    )
    for point in unplaced:
        ax.annotate(point["id"], point["plot"], xytext=(7, 0), textcoords="offset points", va="center", fontsize=FONT)


def _list_hybrids(ax: Any, points: list[dict[str, Any]], numbers: dict[str, int]) -> None:
    """The numbered hybrids beside the triangle: composition by layer share, then the class."""
    if not numbers:
        return
    by_id = {p["id"]: p for p in points}
    left, top, step = 1.1, 0.93, 0.046
    ax.text(
        left - 0.03,
        top + 0.04,
        "hybrids: share of layers → class",
        ha="left",
        va="bottom",
        fontsize=FONT + 1,
        color="#444444",
    )
    for hybrid_id, number in sorted(numbers.items(), key=lambda item: item[1]):
        point = by_id[hybrid_id]
        y = top - (number - 1) * step
        _numbered_marker(ax, [left, y], number, point["confidence"])
        ax.text(left + 0.025, y + 0.003, hybrid_id, ha="left", va="bottom", fontsize=FONT, weight="bold")
        parts = " + ".join(f"{c['share']} {c['id']}" for c in point["components"])
        ax.text(
            left + 0.025,
            y + 0.001,
            f"{parts}  → {point['placement']}",
            ha="left",
            va="top",
            fontsize=FONT - 1,
            color="#222222",
        )


def _legend(ax: Any) -> None:
    from matplotlib.lines import Line2D

    families = [
        Line2D([], [], marker="o", linestyle="", color=FAMILY_COLOURS[f], markersize=MARKER, label=f) for f in FAMILIES
    ]
    confidence = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color="#444444",
            fillstyle=fill,
            markerfacecoloralt="white",
            markersize=MARKER,
            label=f"{level} confidence",
        )
        for level, fill in CONFIDENCE_FILL.items()
    ]
    first = ax.legend(
        handles=families,
        loc="upper left",
        bbox_to_anchor=(1.08, -0.07),
        bbox_transform=ax.transData,
        frameon=False,
        title="family",
        alignment="left",
        ncols=2,
    )
    ax.add_artist(first)
    ax.legend(
        handles=confidence,
        loc="upper left",
        bbox_to_anchor=(1.08, -0.31),
        bbox_transform=ax.transData,
        frameon=False,
        title="confidence of the scaling",
        alignment="left",
        ncols=3,
    )
