"""JSON numbers as the commands emit them, and numbers and growth as the commands print them."""

from __future__ import annotations

import json

from ..conftest import run_cli


def test_classify_says_constant_and_places_an_edge():
    out = run_cli("classify", "retnet").stdout
    assert "per-step compute is constant; state is constant" in out and "grows as 1" not in out
    assert "placement EC (an edge); position (E, C, R) = (0.5, 0.5, 0)" in out
    assert "K <= " in out and "e+" not in out  # whole numbers with separators, not 8.611e+07


def test_a_hybrid_is_inside_the_triangle_not_on_a_vertex():
    out = run_cli("classify", "jamba").stdout
    assert "placement R; a hybrid, so it sits inside the triangle at (E, C, R) = (0.4375, 0.4375, 0.125)" in out
    assert "vertex" not in out and "gqa (12.5%)" in out


def test_show_prints_shares_and_typical_values_exactly():
    out = run_cli("show", "jamba").stdout
    assert "component gqa: 12.5% of layers" in out and "component mamba: 87.5% of layers" in out
    assert "retention heads; keys are d/h wide per head (typically 8)\n" in run_cli("show", "retnet").stdout


def test_list_cites_a_paper_without_arxiv_by_its_address():
    rows = run_cli("list", "--search", "qwen3-next").stdout
    assert "huggingface.co/Qwen/" in rows and "│ url " not in rows


def test_json_max_pairs_is_a_whole_number_and_widths_are_integers():
    data = json.loads(run_cli("classify", "mamba", "--json").stdout)
    assert isinstance(data["bound"]["max_pairs"], int) and data["bound"]["max_pairs"] > 0
    assert json.loads(run_cli("classify", "mamba", "--json").stdout)["bound"]["d"] == 4096
    assert "4096.0" not in run_cli("classify", "mamba", "--json").stdout
