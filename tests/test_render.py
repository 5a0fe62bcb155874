from __future__ import annotations

import io
import json
import re
import shutil

import pytest

from archclass.registry import registry_from_text
from archclass.render import render, same_pixels, stale, taxonomy_markdown

from .conftest import run_cli
from .test_registry import GOOD, HYBRID


@pytest.fixture
def registry():
    return registry_from_text(GOOD + HYBRID)


@pytest.fixture(scope="module")
def rendered_once(tmp_path_factory):
    pytest.importorskip("matplotlib")
    folder = tmp_path_factory.mktemp("rendered")
    render(registry_from_text(GOOD + HYBRID), folder)
    return folder


@pytest.fixture
def rendered(rendered_once, tmp_path):
    """A fresh copy of the rendered files for each test to spoil."""
    copy = tmp_path / "taxonomy"
    shutil.copytree(rendered_once, copy)
    return copy


def test_markdown_has_a_table_per_placement_with_the_rules(registry):
    text = taxonomy_markdown(registry)
    assert "## Efficient and compact (EC edge)" in text and "## Recall only (R vertex)" in text
    assert "| Alpha (`alpha`) | 2020 | linear-rnn | O(d^2) | O(d^2) | `constant-step`" in text
    assert "hybrid: alpha 75%, beta 25%" in text
    assert "[index.html](index.html)" in text


def test_render_writes_every_generated_file(rendered):
    names = sorted(p.name for p in rendered.iterdir())
    assert names == ["TAXONOMY.md", "index.html", "triangle.json", "triangle.png", "triangle.svg"]
    data = json.loads((rendered / "triangle.json").read_text())
    gamma = next(p for p in data["points"] if p["id"] == "gamma")
    assert gamma["position"] == [0.375, 0.375, 0.25]
    assert [(c["id"], c["share"]) for c in gamma["components"]] == [("alpha", "3/4"), ("beta", "1/4")]


def test_freshly_rendered_files_are_current(registry, rendered):
    assert stale(registry, rendered) == []


def test_a_registry_change_makes_the_text_files_and_the_figure_stale(rendered):
    slower = GOOD.replace("O(d^2)\n    state_size: O(d^2)", "O(T d)\n    state_size: O(d^2)")
    changed = registry_from_text(slower + HYBRID)
    assert set(stale(changed, rendered)) == {
        "TAXONOMY.md",
        "triangle.json",
        "index.html",
        "triangle.svg",
        "triangle.png",
    }


@pytest.mark.parametrize("name", ["triangle.svg", "index.html", "TAXONOMY.md", "triangle.json"])
def test_an_edited_file_is_stale(registry, rendered, name):
    path = rendered / name
    path.write_bytes(path.read_bytes().replace(b"gamma", b"gamme", 1))
    assert stale(registry, rendered) == [name]


def test_a_png_is_stale_when_its_pixels_differ_not_its_bytes(registry, rendered):
    from PIL import Image

    png = rendered / "triangle.png"
    image = Image.open(png)
    recompressed = io.BytesIO()
    image.save(recompressed, format="PNG", compress_level=1)
    assert recompressed.getvalue() != png.read_bytes()
    png.write_bytes(recompressed.getvalue())
    assert stale(registry, rendered) == [], "a PNG with the same pixels, compressed otherwise, is current"

    image = image.convert("RGBA")
    image.putpixel((image.width // 2, image.height // 2), (255, 0, 255, 255))
    image.save(png, format="PNG")
    assert stale(registry, rendered) == ["triangle.png"]


def test_a_missing_figure_is_stale(registry, rendered):
    (rendered / "triangle.png").unlink()
    assert stale(registry, rendered) == ["triangle.png"]
    assert stale(registry, rendered, figure=False) == []


def test_same_pixels_refuses_what_is_not_a_png():
    assert not same_pixels(b"not a png", b"not a png either")


def test_check_reports_a_stale_figure_and_exits_1(rendered, tmp_path):
    registry_file = tmp_path / "architectures.yaml"
    registry_file.write_text(GOOD + HYBRID, encoding="utf-8")
    assert run_cli("render", "--check", "--out", str(rendered), "--registry", str(registry_file)).returncode == 0
    (rendered / "triangle.svg").write_text("<svg/>", encoding="utf-8")
    result = run_cli("render", "--check", "--out", str(rendered), "--registry", str(registry_file))
    assert result.returncode == 1
    assert "triangle.svg" in result.stderr and "Traceback" not in result.stderr
    skipped = run_cli("render", "--check", "--no-figure", "--out", str(rendered), "--registry", str(registry_file))
    assert skipped.returncode == 0 and "figure not checked" in skipped.stderr


def test_committed_taxonomy_is_current():
    pytest.importorskip("matplotlib")
    result = run_cli("render", "--check")
    assert result.returncode == 0, result.stderr


def test_a_figure_from_another_matplotlib_is_named_as_such(registry, rendered):
    svg = rendered / "triangle.svg"
    svg.write_bytes(re.sub(rb"Matplotlib v[^,<]+", b"Matplotlib v0.0.1", svg.read_bytes(), count=1))
    [problem] = stale(registry, rendered)
    assert problem.startswith("triangle.svg (drawn with matplotlib 0.0.1; this is ")
