"""Concrete costs from registry formulas (archclass.cost) and the `archclass cost` command."""

from __future__ import annotations

import json

import pytest

from archclass.cost import cost, costs, human_bytes, parse_length
from archclass.errors import ArchclassError
from archclass.registry import load_registry

T_128K = 131072


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def test_jamba_state_adds_its_four_attention_layers_and_28_mamba_layers(registry):
    result = cost(registry, "jamba", T_128K, "jamba")
    attention = 4 * 2 * T_128K * 8 * 128  # 4 GQA layers, K and V, 8 kv heads of 128
    mamba = 28 * (2 * 4096 * 16 + 2 * 4096 * 3)  # expand 2, d_state 16, a conv buffer of width 4 - 1
    assert result.state_scalars == attention + mamba
    assert result.state_bytes == 2 * (attention + mamba)
    assert result.state_exact


def test_gqa_at_llama_size_is_sixteen_gib_at_128k(registry):
    result = cost(registry, "gqa", T_128K, "llama-3-8b")
    assert result.state_bytes == 32 * 2 * T_128K * 8 * 128 * 2
    assert human_bytes(result.state_bytes) == "16 GiB"


def test_a_compact_state_does_not_change_with_T(registry):
    short, long = cost(registry, "mamba", 1024), cost(registry, "mamba", T_128K)
    assert short.state_scalars == long.state_scalars
    assert short.size == "mamba-2.8b"


def test_overrides_set_registry_symbols(registry):
    base = cost(registry, "sliding-window-attention", T_128K, "mistral-7b")
    halved = cost(registry, "sliding-window-attention", T_128K, "mistral-7b", {"w": 2048})
    assert halved.state_scalars * 2 == base.state_scalars


@pytest.mark.parametrize("bad", [0, -5, 2**41, 3.5, True])
def test_positions_out_of_range_are_refused(registry, bad):
    with pytest.raises(ArchclassError, match="T must be"):
        cost(registry, "gqa", bad)


def test_unknown_size_lists_the_known_ones(registry):
    with pytest.raises(ArchclassError, match="llama-3-8b"):
        cost(registry, "gqa", 1024, "llama-9")


@pytest.mark.parametrize(("text", "value"), [("131072", 131072), ("128k", 131072), ("1M", 2**20), ("4_096", 4096)])
def test_lengths_as_people_write_them(text, value):
    assert parse_length(text) == value


@pytest.mark.parametrize("text", ["", "k", "12.5k", "-3", "1e6", "0"])
def test_lengths_that_are_not_lengths(text):
    with pytest.raises(ValueError):
        parse_length(text)


def test_cli_compares_jamba_and_gqa_in_one_command(cli):
    result = cli("cost", "--arch", "jamba", "--arch", "gqa@llama-3-8b", "--T", "128k", "--json", "--no-measured")
    assert result.returncode == 0, result.stderr
    rows = {row["arch"]: row for row in json.loads(result.stdout)}
    assert rows["gqa"]["state_bytes"] / rows["jamba"]["state_bytes"] == pytest.approx(7.97, abs=0.01)
    table = cli("cost", "--arch", "jamba", "--arch", "gqa@llama-3-8b", "--T", "128k", "--no-measured")
    assert "2.01 GiB" in table.stdout and "16 GiB" in table.stdout


def test_cli_bad_length_is_a_usage_error(cli):
    result = cli("cost", "--arch", "gqa", "--T", "lots")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "--T" in result.stderr


def test_a_stored_probe_run_is_shown_with_the_formula_at_its_own_settings(registry):
    from archclass.cost import measured_beside

    run = {
        "target": "gqa",
        "arch_id": "gqa",
        "device": "cpu",
        "d_model": 64,
        "measurements": [{"length": 256, "state_scalars": 8192}, {"length": 1024, "state_scalars": 32768}],
        "registry": {"state_formula": {"expected_at_longest": 32768.0, "agrees": True}},
    }
    other = {**run, "arch_id": "mamba"}
    shown = measured_beside(cost(registry, "gqa", T_128K), [other, run])
    assert shown is not None
    assert shown["T"] == 1024 and shown["state_scalars"] == 32768
    assert shown["registry_state_scalars_at_probe"] == 32768.0 and shown["formula_agrees"] is True
    assert measured_beside(cost(registry, "jamba", T_128K), [other]) is None


def test_cost_table_marks_estimates_and_measured_lines_cite_the_probe(registry):
    from dataclasses import replace

    from rich.console import Console

    from archclass.cost import cost_table, measured_lines

    exact, estimate = cost(registry, "gqa", T_128K, "llama-3-8b"), cost(registry, "jamba", T_128K, "jamba")
    console = Console(width=300)
    with console.capture() as captured:
        console.print(cost_table([exact, estimate]))
    assert "decode cost at T = 131,072" in captured.get() and "16 GiB" in captured.get()
    probe = {"target": "gqa", "d_model": 64, "device": "cpu", "state_scalars": 4096, "T": 256}
    lines = measured_lines([exact, replace(estimate, measured=probe)])
    assert lines == [
        "  jamba: probe of reference 'gqa' (d_model 64, cpu) measured 4,096 state scalars at T = 256"
    ]


def test_costs_read_each_size_and_set_a_stored_run_beside_its_own_entry(registry):
    run = {"arch_id": "gqa", "target": "gqa", "d_model": 64, "measurements": [{"length": 1024, "state_scalars": 9}]}
    jamba, gqa = costs(registry, ["jamba", "gqa@llama-3-8b"], T_128K, size="jamba", probe_runs=[run])
    assert jamba == cost(registry, "jamba", T_128K, "jamba")
    assert gqa.state_bytes == cost(registry, "gqa", T_128K, "llama-3-8b").state_bytes
    assert gqa.measured is not None and gqa.measured["state_scalars"] == 9
