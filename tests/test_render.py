from __future__ import annotations

import json

import pytest

from archclass.registry import registry_from_text
from archclass.render import render, stale, taxonomy_markdown, triangle_data

from .conftest import run_cli
from .test_registry import GOOD, HYBRID


@pytest.fixture
def registry():
    return registry_from_text(GOOD + HYBRID)


def test_markdown_has_a_table_per_placement_with_the_rules(registry):
    text = taxonomy_markdown(registry)
    assert "## Efficient and compact (EC edge)" in text and "## Recall only (R vertex)" in text
    assert "| Alpha (`alpha`) | 2020 | linear-rnn | O(d^2) | O(d^2) | `constant-step`" in text
    assert "hybrid: alpha 75%, beta 25%" in text


def test_hybrid_trajectory_runs_from_its_compact_part_to_attention(registry):
    data = triangle_data(registry)
    gamma = next(p for p in data["points"] if p["id"] == "gamma")
    assert gamma["trajectory"]["from"] == [0.5, 0.5, 0.0] and gamma["trajectory"]["to"] == [0.0, 0.0, 1.0]
    assert gamma["position"] == [0.375, 0.375, 0.25]


def test_check_detects_stale_files(registry, tmp_path):
    render(registry, tmp_path, figure=False)
    (tmp_path / "triangle.png").write_bytes(b"")
    (tmp_path / "triangle.svg").write_bytes(b"")
    assert stale(registry, tmp_path) == []
    slower = GOOD.replace("O(d^2)\n    state_size: O(d^2)", "O(T d)\n    state_size: O(d^2)")
    changed = registry_from_text(slower + HYBRID)
    assert "TAXONOMY.md" in stale(changed, tmp_path)


def test_figure_is_drawn(registry, tmp_path):
    pytest.importorskip("matplotlib")
    render(registry, tmp_path)
    assert (tmp_path / "triangle.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "triangle.svg").read_bytes()[:500]
    json.loads((tmp_path / "triangle.json").read_text())


def test_committed_taxonomy_is_current():
    result = run_cli("render", "--check")
    assert result.returncode == 0, result.stderr
