"""Registry answers as a person reads them: numbers, growth, a classification, an entry, a list."""

from __future__ import annotations

import pytest
from rich.console import Console

from archclass.classifier import BoundSettings
from archclass.registry import load_registry
from archclass.report import (
    bound_inputs,
    bound_sentence,
    classification_lines,
    entry_lines,
    grows,
    growth,
    number,
    percent,
    placements_table,
    rows_table,
)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(8.0, "8"), (67108864.0, "67,108,864"), (0.4375, "0.4375"), (1 / 3, "0.3333"), (0.0, "0"), (2.5e20, "2.5e+20")],
)
def test_number(value, shown):
    assert number(value) == shown


def test_percent_is_exact_for_layer_shares():
    assert (percent(0.125), percent(0.875), percent(0.25), percent(1 / 3)) == ("12.5%", "87.5%", "25%", "33.33%")


def test_growth_words():
    assert (growth("1"), growth("T log T"), grows("1"), grows("T")) == (
        "constant",
        "T log T",
        "is constant",
        "grows as T",
    )


def _text(renderable) -> str:
    console = Console(width=200, record=True, file=None)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def test_classification_lines_name_rules_bound_and_recipe():
    registry = load_registry(full_check=False)
    retnet = registry.get("retnet")
    lines = classification_lines(retnet, registry.classify_entry(retnet, BoundSettings()))
    assert "(retnet, " in lines[0]
    assert lines[1].split() == ["efficient", "[bold]yes[/]", "compact", "[bold]yes[/]", "recall", "[bold]no[/]"]
    assert "placement EC (an edge)" in lines[2] and any("K <=" in line for line in lines)
    reformer = registry.get("reformer")
    recipe = classification_lines(reformer, registry.classify_entry(reformer, BoundSettings()))
    assert any("the paper's recipe" in line for line in recipe)


def test_an_unevaluated_bound_says_why():
    assert bound_sentence({"evaluated": False, "reason": "state grows"}) == "not evaluated: state grows"


def test_bound_inputs_read_as_whole_numbers():
    line = bound_inputs(1048576.0, 16.0, 32000, 0.9, 16777216.0)
    assert line == "n = 1,048,576 scalars, p = 16 bits (16,777,216 bits of state), V = 32,000, A = 0.9"


def test_entry_lines_show_shares_placement_and_the_latest_probe():
    registry = load_registry(full_check=False)
    jamba = registry.get("jamba")
    probe = {"created_at": "2026-01-01", "device": "cpu", "placement": "R", "state_growth": "T"}
    lines = entry_lines(jamba, registry.classify_entry(jamba), probe)
    assert "  component gqa: 12.5% of layers" in lines
    assert any(line.startswith("  placement R; a hybrid") for line in lines)
    assert lines[-1].startswith("  latest probe (2026-01-01, cpu): measured placement R")
    assert not any("latest probe" in line for line in entry_lines(jamba, registry.classify_entry(jamba), None))


def test_tables_hold_one_row_per_result():
    registry = load_registry(full_check=False)
    results = [registry.classify_entry(registry.get(name)) for name in ("retnet", "mamba")]
    assert placements_table(results).row_count == 2 and "2 architectures" in _text(placements_table(results))
    row = {"id": "x", "name": "X", "year": 2024, "family": "ssm", "placement": "EC", "arxiv": None,
           "url": "https://example.org/x"}  # fmt: skip
    assert "example.org/x" in _text(rows_table([row])) and "https" not in _text(rows_table([row]))
