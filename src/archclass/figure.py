"""The triangle figure (PNG and SVG) for papers and the README, drawn with matplotlib.

It draws the points laid out by archclass.triangle. Each hybrid is a numbered disc joined to its
components by lines as wide as their layer shares, and the numbered list beside the triangle gives
its composition and its class.

The registry grows by pull request, so nothing is put at a fixed spot that a longer list or a bigger
stack could run into. The triangle's part is drawn first, at a fixed scale. The vertex names and the
heading of the column of unplaced entries then take the nearest spot clear of everything drawn,
found by measuring the text on the renderer. The explanation goes under the measured extent of that
part, the list of hybrids beside it, in as many columns as make the figure smallest, and the
legends under the list's measured extent. Last, the figure is made as large as what it holds, so
the text keeps its size however many entries there are.

Output is deterministic for a given matplotlib: the SVG keeps text as text (searchable, diffable),
has no date and a fixed hash salt for its ids, and the PNG carries no software stamp, so
`render --check` can redraw both and compare. Texts and legends carry ids (vertex-E, label-<entry>,
hybrid-<number>, legend-family...), which the SVG keeps and the tests use to find them.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from archclass.triangle import CENTROID, CONFIDENCE_FILL, CORNERS, FAMILY_COLOURS, VERTEX_NAMES, place_name
from archclass.vocabulary import FAMILIES

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.path import Path
    from matplotlib.text import Annotation, Text
    from matplotlib.transforms import Bbox

EXPLANATION = (
    "Entries sharing a vertex or edge midpoint are stacked just outside it, in wedges by family. "
    "A hybrid (numbered) sits at the layer-share-weighted mean of its components' places and is joined "
    "to each component by a line as wide as that component's share of layers, so its height is its share "
    "of recall-capable layers (a white disc: not of high confidence). Its class (after the arrow) comes "
    "from the rules, not from where it sits: "
    "one layer whose state grows with T makes the whole stack non-compact."
)
FONT = 9
VERTEX_FONT = 14
DPI = 150
#: Inches per unit of the triangle's side. The scale is fixed; the figure's size follows from its content.
INCHES_PER_UNIT = 13.0 / 2.3
#: Where the drawing starts; the figure is cut to what it holds at the end.
START_LIMITS = ((-0.3, 2.0), (-0.42, 1.02))
MARKER = 6.5
HYBRID_MARKER = 9.2
#: The list of hybrids, in units of the triangle's side: one hybrid's height, the indent of its
#: text from the left of its disc, and the space between columns.
ROW_STEP = 0.046
ROW_INDENT = 0.035
COLUMN_GAP = 0.05
MAX_COLUMNS = 6
#: Between the triangle's part and the list or the explanation, between the list and the legends,
#: and round the whole figure.
GAP = 0.05
MARGIN = 0.02
#: Points kept free round a vertex name or a moved heading.
CLEARANCE = 2.0
#: Directions (degrees) to try, in order of preference, for each vertex name: under E and C first,
#: so that they do not widen the figure; beside R, whose stack takes the space above it.
VERTEX_DIRECTIONS = {"E": (270, 300, 240, 180, 210), "C": (270, 240, 300, 0, 330), "R": (0, 180, 330, 210, 30, 150)}
#: How far (points) a vertex name may be moved from its vertex, and in what steps.
VERTEX_REACH = range(4, 400, 3)

Across = Literal["left", "center", "right"]
Upright = Literal["bottom", "center", "top"]
#: Where to try a label: its offset from its point, in points, and its alignment there.
Spot = tuple[float, float, Across, Upright]


def _rc() -> dict[Any, Any]:
    return {
        "svg.fonttype": "none",  # text stays <text>: searchable and diffable
        "svg.hashsalt": "archclass-triangle",
        "font.family": "DejaVu Sans",  # ships with matplotlib, so text is laid out alike everywhere
        "font.size": FONT,
        "path.simplify": False,
    }


@contextmanager
def drawn_figure(data: dict[str, Any]) -> Iterator[Figure]:
    """The figure, laid out; it must be saved (or measured) inside the `with`, where its settings hold."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_rc()):
        fig = Figure(dpi=DPI)
        _Layout(fig, data).draw()
        yield fig


def draw(data: dict[str, Any]) -> tuple[bytes, bytes]:
    """The figure as (PNG bytes, SVG bytes)."""
    png, svg = io.BytesIO(), io.BytesIO()
    with drawn_figure(data) as fig:
        fig.savefig(png, format="png", dpi=DPI, metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None})
    return png.getvalue(), svg.getvalue()


def hybrid_numbers(points: list[dict[str, Any]]) -> dict[str, int]:
    """Hybrids numbered from the top of the triangle down, left to right within a row."""
    hybrids = sorted((p for p in points if p["components"]), key=lambda p: (-p["plot"][1], p["plot"][0], p["id"]))
    return {point["id"]: index for index, point in enumerate(hybrids, start=1)}


def rows_per_column(
    widths: list[float], beside: tuple[float, float], heading: float, legends: tuple[float, float]
) -> int:
    """How many hybrids to list in a column so that the figure is smallest; the fewest columns on a tie.

    `widths` are the listed hybrids' widths, `beside` the (width, height) of the part left of the list,
    `heading` the height of the list's heading and `legends` the (width, height) of the legends under it.
    """
    count = len(widths)
    best: tuple[float, int] | None = None
    for columns in range(1, min(count, MAX_COLUMNS) + 1):
        rows = math.ceil(count / columns)
        column_widths = [max(widths[start : start + rows]) for start in range(0, count, rows)]
        width = beside[0] + GAP + max(sum(column_widths) + COLUMN_GAP * (len(column_widths) - 1), legends[0])
        height = max(beside[1], heading + rows * ROW_STEP + GAP + legends[1])
        area = round(width * height, 9)
        if best is None or area < best[0]:
            best = (area, rows)
    return best[1] if best else 1


class _Layout:
    """Draws the figure onto `fig` and sizes it; see the module's docstring for the order."""

    def __init__(self, fig: Figure, data: dict[str, Any]) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = fig
        self.canvas: FigureCanvasAgg = FigureCanvasAgg(fig)
        self.data = data
        self.points: list[dict[str, Any]] = data["points"]
        self.numbers = hybrid_numbers(self.points)
        self.ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        self.ax.axis("off")
        self._frame(*START_LIMITS)

    def _frame(self, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
        # Figure size and limits change together, so a unit of the plane stays INCHES_PER_UNIT inches
        # on both axes and what is already placed keeps its place relative to everything else.
        self.ax.set_xlim(*xlim)
        self.ax.set_ylim(*ylim)
        self.fig.set_size_inches((xlim[1] - xlim[0]) * INCHES_PER_UNIT, (ylim[1] - ylim[0]) * INCHES_PER_UNIT)

    def draw(self) -> None:
        self._draw_triangle()
        self._place_headings()
        triangle_part = self._extent(self._drawn())
        explanation = self._explain(triangle_part)
        beside = self._extent([*self._drawn(), explanation])
        self._list_hybrids(beside)
        whole = self._extent([*self._drawn(), *self.ax.artists])
        self._frame((whole.x0 - MARGIN, whole.x1 + MARGIN), (whole.y0 - MARGIN, whole.y1 + MARGIN))

    # Measuring.

    def _display_box(self, artist: Any) -> Bbox:
        return artist.get_window_extent(self.canvas.get_renderer())

    def _extent(self, artists: Iterable[Any]) -> Bbox:
        """The smallest box holding `artists`, in the plane's units."""
        from matplotlib.transforms import Bbox

        boxes = [self._display_box(artist) for artist in artists]
        return Bbox.union(boxes).transformed(self.ax.transData.inverted())

    def _drawn(self) -> list[Any]:
        return [*self.ax.texts, *self.ax.lines, *self.ax.patches]

    def _obstacles(self, moving: Annotation) -> list[Bbox | Path]:
        """What `moving` must keep clear of: every other text, every mark, each stack and the triangle."""
        boxes: list[Bbox | Path] = [self._display_box(text) for text in self.ax.texts if text is not moving]
        boxes += [self._display_box(line) for line in self.ax.lines if line.get_marker() not in (None, "None", "")]
        boxes += [patch.get_path().transformed(patch.get_transform()) for patch in self.ax.patches]
        return boxes

    def _first_free(self, label: Annotation, spots: Iterable[Spot]) -> None:
        """Move the annotation `label` to the first of `spots` (offset in points, alignment) clear of all else."""
        from matplotlib.path import Path

        obstacles = self._obstacles(label)
        pad = self.fig.dpi * CLEARANCE / 72
        first: Spot | None = None
        for dx, dy, ha, va in spots:
            label.xyann = (dx, dy)
            label.set_horizontalalignment(ha)
            label.set_verticalalignment(va)
            first = first or (dx, dy, ha, va)
            box = self._display_box(label).padded(pad)
            clear = all(
                not (obstacle.intersects_bbox(box) if isinstance(obstacle, Path) else box.overlaps(obstacle))
                for obstacle in obstacles
            )
            if clear:
                return
        if first:  # nowhere free: the preferred spot, rather than the farthest
            label.xyann = first[:2]
            label.set_horizontalalignment(first[2])
            label.set_verticalalignment(first[3])

    # The triangle's part.

    def _draw_triangle(self) -> None:
        ax = self.ax
        outline = [CORNERS["E"], CORNERS["C"], CORNERS["R"], CORNERS["E"]]
        ax.fill(*zip(*outline, strict=True), color="#f4f4f4", zorder=0)
        ax.plot(*zip(*outline, strict=True), color="#222222", linewidth=1.2, zorder=1)
        self._draw_stacks()
        self._draw_compositions()
        for point in self.points:
            if point["id"] in self.numbers:
                self._numbered_marker(point["plot"], self.numbers[point["id"]], point["confidence"])
            else:
                self._marker(point["plot"], point["family"], point["confidence"])
        self._label_lone_entries()
        self._label_unplaced()

    def _marker(self, xy: list[float], family: str, confidence: str) -> None:
        colour = FAMILY_COLOURS[family]
        self.ax.plot(
            *xy,
            marker="o",
            markersize=MARKER,
            fillstyle=CONFIDENCE_FILL[confidence],
            color=colour,
            markerfacecoloralt="white",
            markeredgecolor=colour,
            markeredgewidth=1.0,
            linestyle="",
            zorder=4,
        )

    def _numbered_marker(self, xy: list[float], number: int, confidence: str) -> list[Any]:
        """A hybrid: a black disc with its number; a white one with a black ring when not of high confidence."""
        solid = confidence == "high"
        disc = self.ax.plot(
            *xy,
            marker="o",
            markersize=HYBRID_MARKER,
            markerfacecolor="black" if solid else "white",
            markeredgecolor="black",
            markeredgewidth=1.0,
            linestyle="",
            zorder=5,
        )
        digits = self.ax.text(
            xy[0],
            xy[1],
            str(number),
            ha="center",
            va="center_baseline",
            fontsize=6,
            weight="bold",
            color="white" if solid else "black",
            zorder=6,
        )
        return [*disc, digits]

    def _draw_stacks(self) -> None:
        from matplotlib.patches import Wedge

        for stack in self.data["stacks"]:
            (x, y), (ux, uy), radius = stack["anchor"], stack["outward"], stack["radius"]
            facing = math.degrees(math.atan2(uy, ux))
            wedge = Wedge(
                (x, y), radius, facing - 90, facing + 90, facecolor="white", edgecolor="#bbbbbb", linewidth=0.8
            )
            self.ax.add_patch(wedge)
            self.ax.plot([x], [y], marker="o", markersize=3, color="#222222", zorder=3)
            self.ax.text(
                x + ux * (radius + 0.025),
                y + uy * (radius + 0.025),
                f"{stack['count']} {place_name(stack['placement'])}",
                ha="center",
                va="bottom" if uy > 0 else "top",
                fontsize=FONT + 1,
                color="#444444",
                gid=f"stack-{stack['placement'].replace('/', '-')}",
            )

    def _draw_compositions(self) -> None:
        by_id = {p["id"]: p for p in self.points}
        for point in self.points:
            for component in point["components"] or []:
                part = by_id[component["id"]]
                self.ax.plot(
                    [part["plot"][0], point["plot"][0]],
                    [part["plot"][1], point["plot"][1]],
                    color=FAMILY_COLOURS[part["family"]],
                    linewidth=0.3 + 3.0 * component["fraction"],
                    alpha=0.3,
                    solid_capstyle="round",
                    zorder=2,
                )

    def _label_lone_entries(self) -> None:
        """Entries alone at a vertex or edge midpoint: their id, outward from the triangle."""
        stacks = self.data["stacks"]
        for point in self.points:
            if point["components"] or point["placement"] == "none":
                continue
            x, y = point["plot"]
            if any(math.dist((x, y), s["anchor"]) <= s["radius"] + 1e-9 for s in stacks):
                continue
            dx, dy = x - CENTROID[0], y - CENTROID[1]
            norm = math.hypot(dx, dy)
            self.ax.annotate(
                point["id"],
                (x, y),
                xytext=(dx / norm * 8, dy / norm * 8),
                textcoords="offset points",
                ha="right" if dx < 0 else "left",
                va="top" if dy < 0 else "bottom",
                fontsize=FONT,
                gid=f"label-{point['id']}",
            )

    def _label_unplaced(self) -> None:
        for point in self.points:
            if point["placement"] == "none":
                self.ax.annotate(
                    point["id"],
                    point["plot"],
                    xytext=(7, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=FONT,
                    gid=f"label-{point['id']}",
                )

    # Headings that move out of the way.

    def _place_headings(self) -> None:
        self._head_unplaced()
        for letter, directions in VERTEX_DIRECTIONS.items():
            label = self.ax.annotate(
                f"{letter}  {VERTEX_NAMES[letter]}",
                CORNERS[letter],
                xytext=(0, 0),
                textcoords="offset points",
                fontsize=VERTEX_FONT,
                weight="bold",
                gid=f"vertex-{letter}",
            )
            self._first_free(label, _around(directions))

    def _head_unplaced(self) -> None:
        """The heading over the column(s) of unplaced entries, moved left if a stack is in the way."""
        unplaced = [p["plot"] for p in self.points if p["placement"] == "none"]
        if not unplaced:
            return
        left, top = min(x for x, _ in unplaced), max(y for _, y in unplaced)
        heading = self.ax.annotate(
            "none of E, C, R (off the triangle)",
            (left - 0.02, top + 0.035),
            xytext=(0, 0),
            textcoords="offset points",
            fontsize=FONT + 1,
            color="#444444",
            gid="none-heading",
        )
        self._first_free(heading, ((-6.0 * step, 0.0, "left", "bottom") for step in range(200)))

    # Under and beside the triangle's part.

    def _explain(self, above: Bbox) -> Text:
        """The explanation under the triangle's part, wrapped to its width."""
        text = self.ax.text(above.x0, above.y0 - GAP / 2, "", ha="left", va="top", color="#333333", gid="explanation")
        for characters in range(160, 39, -8):
            text.set_text(textwrap.fill(EXPLANATION, characters))
            if self._extent([text]).width <= above.width:
                break
        return text

    def _list_hybrids(self, beside: Bbox) -> None:
        """The numbered hybrids right of `beside`, their heading at its top, then the legends under them."""
        left, top = beside.x1 + GAP, beside.y1
        legends = self._legends()
        legend_boxes = [self._extent([legend]) for legend in legends]
        legends_size = (max(b.width for b in legend_boxes), sum(b.height for b in legend_boxes))
        bottom = top
        if self.numbers:
            heading = self.ax.text(
                left,
                top,
                "hybrids: share of layers → class",
                ha="left",
                va="top",
                fontsize=FONT + 1,
                color="#444444",
                gid="hybrids-heading",
            )
            heading_height = self._extent([heading]).height
            listed = sorted(self.numbers.items(), key=lambda item: item[1])
            widths = [self._row_width(hybrid_id, number) for hybrid_id, number in listed]
            per_column = rows_per_column(
                widths, (beside.width, beside.height), heading_height + ROW_STEP * 0.25, legends_size
            )
            first_row = top - heading_height - ROW_STEP * 0.75
            drawn: list[Any] = [heading]
            x = left
            for start in range(0, len(listed), per_column):
                for index, (hybrid_id, number) in enumerate(listed[start : start + per_column]):
                    drawn += self._hybrid_row(hybrid_id, number, x, first_row - index * ROW_STEP)
                x += max(widths[start : start + per_column]) + COLUMN_GAP
            bottom = self._extent(drawn).y0 - GAP / 2
        for legend in legends:
            legend.set_bbox_to_anchor((left, bottom), transform=self.ax.transData)
            bottom = self._extent([legend]).y0

    def _row_width(self, hybrid_id: str, number: int) -> float:
        """How wide a hybrid's entry in the list is, measured on a trial drawing that is then removed."""
        trial = self._hybrid_row(hybrid_id, number, 0.0, 0.0)
        width = float(self._extent(trial).width)
        for artist in trial:
            artist.remove()
        return width

    def _hybrid_row(self, hybrid_id: str, number: int, x: float, y: float) -> list[Any]:
        """One listed hybrid, the left of its disc at (x, y): disc, id, composition and class."""
        point = next(p for p in self.points if p["id"] == hybrid_id)
        disc_radius = HYBRID_MARKER / 2 / 72 / INCHES_PER_UNIT
        parts = " + ".join(f"{c['share']} {c['id']}" for c in point["components"])
        return [
            *self._numbered_marker([x + disc_radius, y], number, point["confidence"]),
            self.ax.text(
                x + ROW_INDENT, y + 0.003, hybrid_id, ha="left", va="bottom", weight="bold", gid=f"hybrid-{number}"
            ),
            self.ax.text(
                x + ROW_INDENT,
                y + 0.001,
                f"{parts}  → {point['placement']}",
                ha="left",
                va="top",
                fontsize=FONT - 1,
                color="#222222",
                gid=f"hybrid-{number}-parts",
            ),
        ]

    def _legends(self) -> list[Any]:
        from matplotlib.legend import Legend
        from matplotlib.lines import Line2D

        families = [
            Line2D([], [], marker="o", linestyle="", color=FAMILY_COLOURS[f], markersize=MARKER, label=f)
            for f in FAMILIES
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
        legends = []
        for handles, title, columns, gid in (
            (families, "family", 2, "legend-family"),
            (confidence, "confidence of the scaling", 3, "legend-confidence"),
        ):
            legend = Legend(
                self.ax,
                handles,
                [str(h.get_label()) for h in handles],
                loc="upper left",
                bbox_to_anchor=(0.0, 0.0),
                bbox_transform=self.ax.transData,
                frameon=False,
                title=title,
                alignment="left",
                ncols=columns,
            )
            legend.set_gid(gid)
            self.ax.add_artist(legend)
            legends.append(legend)
        return legends


def _around(directions: tuple[int, ...]) -> Iterator[Spot]:
    """Spots round a point, nearest first, in the given directions (degrees)."""
    for distance in VERTEX_REACH:
        for degrees in directions:
            dx, dy = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
            ha: Across = "left" if dx > 0.25 else "right" if dx < -0.25 else "center"
            va: Upright = "bottom" if dy > 0.25 else "top" if dy < -0.25 else "center"
            yield (round(distance * dx, 6), round(distance * dy, 6), ha, va)
