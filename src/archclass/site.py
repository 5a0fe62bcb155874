"""taxonomy/index.html: the triangle explorer, one self-contained static page that works offline.

The plot is hand-written SVG drawn here, from the same layout as the figure (archclass.triangle),
with a small script (_assets/explorer.js) for hovering, filtering and searching. A plotting library
would bring megabytes of JavaScript and a licence to vendor into every diff of a generated file, and
its ternary plots (Plotly's scatter_ternary, say) clip anything outside the triangle, where this
layout stacks the entries that share a place. Hand-written SVG is small, byte-for-byte
deterministic and readable in a diff, and the page still shows the plot and the table with
scripts off.

Registry text comes from pull requests, so none of it is trusted: in the markup every string goes
through html.escape, in the embedded JSON `<`, `>` and `&` are written as \\u escapes so that no
string can close the script element, the script inserts text only through textContent, links are
only http(s), and a Content-Security-Policy lets no script run but the page's own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections import Counter
from html import escape
from importlib import resources
from typing import Any

from archclass.triangle import CONFIDENCE_FILL, CORNERS, FAMILY_COLOURS, VERTEX_NAMES, place_name
from archclass.vocabulary import FAMILIES, PLACEMENTS

#: Pixels per unit of the triangle's side, and the least extent of the plane shown (left, right,
#: bottom, top); the shown extent grows to hold every point and stack, however many there are.
SCALE = 620
EXTENT = (-0.3, 1.32, -0.3, 1.03)
#: Room kept round a point for its mark, and round a stack for its count written beyond it.
POINT_ROOM = 0.03
STACK_ROOM = 0.09
RADIUS = 6.2
PLACEMENT_NAMES = {
    "EC": "EC: efficient and compact",
    "ER": "ER: efficient with recall",
    "CR": "CR: compact with recall",
    "E": "E: efficient only",
    "C": "C: compact only",
    "R": "R: recall only",
    "none": "none of the three",
}
CONFIDENCE_LEVELS = ("high", "medium", "low")


def _asset(name: str) -> str:
    return resources.files("archclass").joinpath("_assets", name).read_text(encoding="utf-8")


def shown_extent(data: dict[str, Any]) -> tuple[float, float, float, float]:
    """The part of the plane the plot shows: EXTENT, grown to hold every point and stack with its label."""
    left, right, bottom, top = EXTENT
    for point in data["points"]:
        x, y = point["plot"]
        left, right = min(left, x - POINT_ROOM), max(right, x + POINT_ROOM)
        bottom, top = min(bottom, y - POINT_ROOM), max(top, y + POINT_ROOM)
    for stack in data["stacks"]:
        (x, y), reach = stack["anchor"], stack["radius"] + STACK_ROOM
        left, right = min(left, x - reach), max(right, x + reach)
        bottom, top = min(bottom, y - reach), max(top, y + reach)
    return (left, right, bottom, top)


class _Plane:
    """Plane coordinates to the plot's pixels, for the extent shown."""

    def __init__(self, extent: tuple[float, float, float, float]) -> None:
        self.left, self.right, self.bottom, self.top = extent

    def px(self, x: float, y: float) -> tuple[str, str]:
        return (f"{(x - self.left) * SCALE:.2f}", f"{(self.top - y) * SCALE:.2f}")


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def embedded_json(data: dict[str, Any]) -> str:
    """JSON that is safe inside a <script> element whatever the strings in it contain."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _marker(x: str, y: str, colour: str, confidence: str, radius: float = RADIUS) -> str:
    """A point's mark: full for high confidence, half for medium, an empty ring for low."""
    fill = CONFIDENCE_FILL[confidence]
    mark = (
        f'<circle class="mark" cx="{x}" cy="{y}" r="{radius}" fill="{colour if fill == "full" else "#fff"}" '
        f'stroke="{colour}"/>'
    )
    if fill == "left":
        top, bottom = f"{float(y) - radius:.2f}", f"{float(y) + radius:.2f}"
        mark += f'<path d="M{x},{top} A{radius},{radius} 0 0 0 {x},{bottom} Z" fill="{colour}"/>'
    return mark


def _plot(data: dict[str, Any]) -> str:
    points = data["points"]
    by_id = {p["id"]: p for p in points}
    plane = _Plane(shown_extent(data))
    width = f"{(plane.right - plane.left) * SCALE:.0f}"
    height = f"{(plane.top - plane.bottom) * SCALE:.0f}"
    parts = [
        f'<svg id="plot" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="Architectures on the Efficiency-Compactness-Recall triangle">'
    ]
    corners = " ".join(",".join(plane.px(*CORNERS[v])) for v in ("E", "C", "R"))
    parts.append(f'<polygon class="triangle" points="{corners}"/>')
    # A vertex's name goes beyond the stack at that vertex, if there is one.
    stacked = {tuple(s["anchor"]): s["radius"] for s in data["stacks"]}
    beyond = {name: stacked.get(tuple(_rounded_corner(name)), 0.0) for name in CORNERS}
    for name, (dx, dy, anchor) in {"E": (-0.03, -0.06, "end"), "C": (0.03, -0.06, "start")}.items():
        x, y = plane.px(CORNERS[name][0] + dx, CORNERS[name][1] + dy - beyond[name])
        parts.append(f'<text class="vertex" x="{x}" y="{y}" text-anchor="{anchor}">{name} {VERTEX_NAMES[name]}</text>')
    for stack in data["stacks"]:
        parts.append(_stack(stack, plane))
    x, y = plane.px(CORNERS["R"][0] + (beyond["R"] + 0.03 if beyond["R"] else 0.04), CORNERS["R"][1] - 0.01)
    parts.append(f'<text class="vertex" x="{x}" y="{y}">R {VERTEX_NAMES["R"]}</text>')
    parts.append(_unplaced_note(points, plane))
    for point in points:
        if point["components"]:
            parts.append(_composition(point, by_id, plane))
    stacked_ids = {p["id"] for p in points for s in data["stacks"] if _in_stack(p, s)}
    for point in points:
        parts.append(_point(point, plane, named=not point["hybrid"] and point["id"] not in stacked_ids))
    parts.append('<g id="shares"></g></svg>')
    return "\n".join(parts)


def _rounded_corner(name: str) -> list[float]:
    return [round(c, 6) + 0.0 for c in CORNERS[name]]


def _stack(stack: dict[str, Any], plane: _Plane) -> str:
    (ax, ay), (ux, uy), radius = stack["anchor"], stack["outward"], stack["radius"]
    # The half-disc outside the anchor: from one end of its diameter round to the other.
    vx, vy = -uy, ux
    start = plane.px(ax + vx * radius, ay + vy * radius)
    end = plane.px(ax - vx * radius, ay - vy * radius)
    r = f"{radius * SCALE:.2f}"
    sweep = "1"
    centre = plane.px(ax, ay)
    label = plane.px(ax + ux * (radius + 0.035), ay + uy * (radius + 0.035) - (0.02 if uy < 0 else 0))
    where = place_name(stack["placement"])
    return (
        f'<path class="stack" d="M{start[0]},{start[1]} A{r},{r} 0 0 {sweep} {end[0]},{end[1]} Z"/>'
        f'<circle class="anchor" cx="{centre[0]}" cy="{centre[1]}" r="2.5"/>'
        f'<text class="note" x="{label[0]}" y="{label[1]}" text-anchor="middle">{stack["count"]} {_attr(where)}</text>'
    )


def _unplaced_note(points: list[dict[str, Any]], plane: _Plane) -> str:
    unplaced = [p["plot"] for p in points if p["placement"] == "none"]
    if not unplaced:
        return ""
    # Over the leftmost column, when there are several.
    x, y = plane.px(min(x for x, _ in unplaced) - 0.02, max(y for _, y in unplaced) + 0.04)
    return f'<text class="note" x="{x}" y="{y}">none of E, C, R (off the triangle)</text>'


def _composition(point: dict[str, Any], by_id: dict[str, dict[str, Any]], plane: _Plane) -> str:
    hx, hy = plane.px(*point["plot"])
    lines = []
    for component in point["components"]:
        part = by_id[component["id"]]
        cx, cy = plane.px(*part["plot"])
        lines.append(
            f'<line x1="{cx}" y1="{cy}" x2="{hx}" y2="{hy}" stroke="{FAMILY_COLOURS[part["family"]]}" '
            f'stroke-width="{0.6 + 5 * component["fraction"]:.2f}" data-component="{_attr(part["id"])}"/>'
        )
    return f'<g class="composition" data-hybrid="{_attr(point["id"])}">{"".join(lines)}</g>'


def _in_stack(point: dict[str, Any], stack: dict[str, Any]) -> bool:
    return point["placement"] != "none" and math.dist(point["plot"], stack["anchor"]) <= stack["radius"] + 1e-9


def _point(point: dict[str, Any], plane: _Plane, named: bool) -> str:
    """A point's mark, and its id beside it when `named` (an entry alone at its place)."""
    x, y = plane.px(*point["plot"])
    label = f"{point['name']} ({point['id']}), {point['year']}, {point['family']}, placement {point['placement']}"
    body = _marker(x, y, FAMILY_COLOURS[point["family"]], point["confidence"])
    text = ""
    if named:
        # Few enough to name on the plot; the stacks and hybrids are named on hover.
        dx = -10 if point["placement"] == "ER" or point["placement"] == "E" else 10
        anchor = "end" if dx < 0 else "start"
        text = (
            f'<text x="{float(x) + dx:.2f}" y="{float(y) + 4:.2f}" text-anchor="{anchor}">{_attr(point["id"])}</text>'
        )
    return (
        f'<g class="point" tabindex="0" role="button" data-id="{_attr(point["id"])}" data-x="{x}" data-y="{y}" '
        f'aria-label="{_attr(label)}">{body}{text}</g>'
    )


def _checkboxes(name: str, values: list[tuple[str, str, int, str]]) -> str:
    """(value, label, count, swatch colour or "") as checked boxes."""
    rows = []
    for value, label, count, colour in values:
        swatch = f'<span class="swatch" data-colour="{colour}"></span>' if colour else ""
        rows.append(
            f'<label><input type="checkbox" name="{name}" value="{_attr(value)}" checked>{swatch}'
            f'{_attr(label)}<span class="count">{count}</span></label>'
        )
    return "\n".join(rows)


def _filters(points: list[dict[str, Any]]) -> str:
    families = Counter(p["family"] for p in points)
    placements = Counter(p["placement"] for p in points)
    confidences = Counter(p["confidence"] for p in points)
    years = [p["year"] for p in points]
    low, high = (min(years), max(years)) if years else (0, 0)
    return f"""<form id="filters" autocomplete="off">
<fieldset><legend><label for="search">Search</label></legend>
<input type="search" id="search" placeholder="id, name, alias, tag, summary"></fieldset>
<fieldset><legend>Family</legend>
{_checkboxes("family", [(f, f, families[f], FAMILY_COLOURS[f]) for f in FAMILIES if families[f]])}</fieldset>
<fieldset><legend>Placement</legend>
{_checkboxes("placement", [(p, PLACEMENT_NAMES[p], placements[p], "") for p in PLACEMENTS if placements[p]])}</fieldset>
<fieldset><legend>Confidence</legend>
{_checkboxes("confidence", [(c, c, confidences[c], "") for c in CONFIDENCE_LEVELS if confidences[c]])}</fieldset>
<fieldset><legend>Year</legend><div class="years">
<input type="number" id="year-from" aria-label="from year" min="{low}" max="{high}" value="{low}"> to
<input type="number" id="year-to" aria-label="to year" min="{low}" max="{high}" value="{high}"></div></fieldset>
<button type="reset">Show all</button>
</form>"""


def _table(points: list[dict[str, Any]]) -> str:
    order = sorted(points, key=lambda p: (PLACEMENTS.index(p["placement"]), p["year"], p["id"]))
    rows = []
    for p in order:
        paper = f'<a href="{_attr(p["citation"])}" rel="noopener noreferrer">paper</a>' if p["citation"] else ""
        if p["components"]:
            scaling = " + ".join(f"{c['share']} {c['id']}" for c in p["components"])
            scaling_cell = f'<td colspan="2">{_attr(scaling)}</td>'
        else:
            scaling_cell = f"<td><code>{_attr(p['compute'])}</code></td><td><code>{_attr(p['state'])}</code></td>"
        rules = ", ".join(_attr(r["rule"]) for r in p["rules"])
        rows.append(
            f'<tr data-id="{_attr(p["id"])}"><td>{_attr(p["name"])} <code>{_attr(p["id"])}</code></td>'
            f"<td>{p['year']}</td><td>{_attr(p['family'])}</td><td>{_attr(p['placement'])}</td>"
            f"<td>{_attr(p['confidence'])}</td>{scaling_cell}<td>{rules}</td><td>{paper}</td></tr>"
        )
    header = (
        "<tr><th>architecture</th><th>year</th><th>family</th><th>placement</th><th>confidence</th>"
        "<th>per-step compute</th><th>state</th><th>rules that placed it</th><th>paper</th></tr>"
    )
    return f'<table id="entries"><thead>{header}</thead><tbody>\n' + "\n".join(rows) + "\n</tbody></table>"


def _legend() -> str:
    marks = []
    for level in CONFIDENCE_LEVELS:
        svg = f'<svg width="16" height="16" viewBox="0 0 16 16">{_marker("8", "8", "#444", level, 6)}</svg>'
        marks.append(f"<span>{svg} {level} confidence</span>")
    marks.append(
        "<span>Lines join a hybrid to its components, as wide as their share of layers; "
        "hover a hybrid to follow them.</span>"
    )
    return '<div class="legend-marks">' + "".join(marks) + "</div>"


def page(data: dict[str, Any]) -> str:
    """The whole page as text: the same bytes for the same registry."""
    points = data["points"]
    script = _asset("explorer.js")
    style = _asset("explorer.css")
    swatches = "\n".join(
        f'.swatch[data-colour="{colour}"] {{ background: {colour}; }}' for colour in FAMILY_COLOURS.values()
    )
    style = f"{style}{swatches}\n"
    policy = (
        f"default-src 'none'; script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return f"""<!DOCTYPE html>
<!-- Generated by `archclass render` from data/architectures.yaml; do not edit by hand. -->
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<title>Long-context architectures on the Efficiency-Compactness-Recall triangle</title>
<style>{style}</style>
</head>
<body>
<header>
<h1>Long-context architectures on the Efficiency-Compactness-Recall triangle</h1>
<p>{len(points)} architectures. E: O(1) work per decode step; C: O(1) state; R: Theta(T) facts read back by
content. Hover or focus a point for the rules that placed it and the evidence; click to keep it open.
Entries sharing a vertex or edge midpoint are stacked just outside it, in wedges by family; entries with no
property sit off the triangle; a hybrid sits at the layer-share-weighted mean of its components' places.
Also: <a href="TAXONOMY.md">the table</a>, <a href="triangle.json">the data</a>,
<a href="triangle.svg">the figure</a>.</p>
</header>
<main>
<div class="layout">
{_filters(points)}
<section>
<p id="status" role="status">{len(points)} of {len(points)} architectures shown</p>
{_legend()}
<div class="plot-wrap">
{_plot(data)}
<div id="tooltip" role="dialog" aria-live="polite" hidden></div>
</div>
</section>
</div>
{_table(points)}
</main>
<script type="application/json" id="triangle-data">{embedded_json(data)}</script>
<script>{script}</script>
</body>
</html>
"""
