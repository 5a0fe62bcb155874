from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import pytest

from archclass.registry import load_registry, registry_from_text
from archclass.site import RADIUS, page
from archclass.triangle import triangle_points

from .test_registry import GOOD, HYBRID
from .test_triangle import crowded_registry

HOSTILE_NAME = '</script><script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
HOSTILE_EVIDENCE = "Sec. 1 <b onmouseover=alert(1)>bold</b> & \"quotes\" 'single' </SCRIPT >"
HOSTILE_URL = "javascript:window.pwned=3"
HOSTILE_ALIAS = '"><svg onload="window.pwned=4">'


def hostile_registry_text() -> str:
    # JSON strings are YAML double-quoted scalars, so any text can be written this way.
    return (
        GOOD.replace("  name: Alpha\n", f"  name: {json.dumps(HOSTILE_NAME)}\n")
        .replace("  evidence: Sec. 1.\n", f"  evidence: {json.dumps(HOSTILE_EVIDENCE)}\n")
        .replace("  arxiv: '2001.00001'\n", f"  url: {json.dumps(HOSTILE_URL)}\n")
        .replace("  aliases: [b-model]\n", f"  aliases: [{json.dumps(HOSTILE_ALIAS)}]\n")
        + HYBRID
    )


class Scan(HTMLParser):
    """The elements and attributes a browser would build from the page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.hrefs: list[str] = []
        self.points: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        self.tags.append(tag)
        if tag == "script":
            self.scripts.append(values)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if "href" in values:
            self.hrefs.append(values["href"] or "")
        if tag == "g" and "point" in (values.get("class") or "").split():
            self.points.append(values["data-id"] or "")


def scan(html: str) -> Scan:
    scanner = Scan()
    scanner.feed(html)
    return scanner


def embedded(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="triangle-data">(.*?)</script>', html, re.S)
    assert found, "no embedded data"
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def real_page():
    registry = load_registry()
    return registry, page(triangle_points(registry))


def test_the_page_has_one_point_per_entry(real_page):
    registry, html = real_page
    ids = sorted(entry.id for entry in registry)
    assert sorted(p["id"] for p in embedded(html)["points"]) == ids
    assert sorted(scan(html).points) == ids
    assert len(re.findall(r'<tr data-id="', html)) == len(ids)


def outside_the_plot(html: str) -> list[str]:
    """The marks and notes of the plot that its viewBox cuts, whole or in part (a note's text stands
    about 12 pixels above its baseline)."""
    plot = html[html.index('<svg id="plot"') : html.index('<g id="shares">')]
    width, height = map(float, re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', plot).groups())
    cut = []
    for found in re.finditer(r'data-id="([^"]+)" data-x="([-\d.]+)" data-y="([-\d.]+)"', plot):
        x, y = float(found.group(2)), float(found.group(3))
        if not (RADIUS <= x <= width - RADIUS and RADIUS <= y <= height - RADIUS):
            cut.append(found.group(1))
    for found in re.finditer(r'<text class="(?:note|vertex)" x="([-\d.]+)" y="([-\d.]+)"[^>]*>([^<]*)<', plot):
        x, y = float(found.group(1)), float(found.group(2))
        if not (0 <= x <= width and 12 <= y <= height):
            cut.append(found.group(3))
    return cut


def test_the_plot_shows_every_mark_and_note_whole(real_page):
    _, html = real_page
    assert outside_the_plot(html) == []


def test_the_plot_grows_to_hold_a_crowded_registry():
    html = page(triangle_points(crowded_registry()))
    assert outside_the_plot(html) == []
    assert len(scan(html).points) == len(crowded_registry())


def test_only_entries_alone_at_their_place_are_named_on_the_plot():
    html = page(triangle_points(crowded_registry()))
    named = set(re.findall(r'data-id="([^"]+)"[^>]*>(?:<circle[^>]*>|<path[^>]*>)*<text', html))
    # Alone at the ER and CR midpoints, or unplaced: named. In a stack (at E, whatever its placement) or a
    # hybrid: named on hover only, or the names would pile up on one another.
    assert {"retrieval-attention", "unbounded-precision-rnn", "hyena", "made-up-entry-with-no-property-00"} <= named
    assert not named & {"bigbird", "made-up-efficient-0", "made-up-compact-0", "mamba", "jamba"}


def test_the_page_is_self_contained(real_page):
    _, html = real_page
    scanner = scan(html)
    assert all(script.get("src") is None for script in scanner.scripts)
    assert "<link" not in html and "@import" not in html
    assert not [href for href in scanner.hrefs if not href.startswith(("https://", "http://")) and "/" in href]


def test_the_page_is_the_same_for_the_same_registry(real_page):
    registry, html = real_page
    assert page(triangle_points(registry)) == html


def test_the_policy_allows_exactly_the_page_s_own_script_and_style(real_page):
    _, html = real_page
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1)
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    for source, directive in ((script, "script-src"), (style, "style-src")):
        digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy


def test_hostile_registry_strings_stay_text():
    data = triangle_points(registry_from_text(hostile_registry_text()))
    html = page(data)
    scanner = scan(html)
    # Only the page's own two scripts, no event handlers, no javascript: links, no injected elements.
    assert len(scanner.scripts) == 2
    assert scanner.handlers == []
    assert not [href for href in scanner.hrefs if ":" in href and not href.startswith(("https://", "http://"))]
    assert "img" not in scanner.tags and "b" not in scanner.tags
    assert scanner.tags.count("svg") == 1 + 3  # the plot and the three confidence marks in the legend
    # The strings survive intact for the script to show as text.
    alpha = next(p for p in embedded(html)["points"] if p["id"] == "alpha")
    assert alpha["name"] == HOSTILE_NAME and alpha["evidence"] == HOSTILE_EVIDENCE
    assert alpha["citation"] is None
    assert "&lt;/script&gt;&lt;script&gt;window.pwned=1" in html  # escaped in the table and labels


def test_filters_offer_only_what_the_registry_has():
    html = page(triangle_points(registry_from_text(GOOD + HYBRID)))
    families = re.findall(r'name="family" value="([^"]+)"', html)
    assert families == ["full-attention", "linear-rnn", "hybrid"]
    assert 'id="year-from" aria-label="from year" min="2020" max="2022" value="2020"' in html
