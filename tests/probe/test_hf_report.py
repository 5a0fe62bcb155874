"""What `probe --hf` and `--hf-all` print, from result dicts shaped as archclass.probe.hf returns them."""

from __future__ import annotations

from rich.console import Console

from archclass.probe.hf_report import census_summary, census_table, hf_result_lines, hf_result_table

RESULT = {
    "model_type": "qwen3_next", "transformers_version": "5.0", "layers": 4, "cache_class": "HybridCache",
    "layer_kinds": ["linear_attention", "linear_attention", "linear_attention", "full_attention"],
    "efficient": False, "compact": False, "recall": True, "placement": "R",
    "state_growth": "T", "compute_growth": "T", "lengths": [64, 128],
    "state_scalars": [1000, 1500], "step_flops": [10, 20], "step_seconds": [0.001, 0.002],
    "state_by_kind": {"linear_attention": [500, 500], "full_attention": [500, 1000]},
}  # fmt: skip


def _text(renderable) -> str:
    console = Console(width=200)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def test_a_result_names_its_layer_kinds_placement_and_state_by_kind():
    lines = hf_result_lines(RESULT)
    assert "4 layers: full_attention, linear_attention; cache HybridCache" in lines[0]
    assert "placement [bold]R[/]" in lines[1] and "recall [bold]yes[/]" in lines[1]
    table = _text(hf_result_table(RESULT))
    assert "1,500" in table and "2.00 ms" in table and "full_attention" in table


def test_the_census_counts_agreements_and_disagreements():
    rows = [
        {"model_type": "llama", "placement": "R", "registry_id": "gqa", "registry_placement": "R", "agrees": True,
         "error": None},
        {"model_type": "mamba", "placement": "EC", "registry_id": "mamba", "registry_placement": "R", "agrees": False,
         "error": None},
        {"model_type": "odd", "placement": None, "registry_id": None, "registry_placement": None, "agrees": None,
         "error": "no cache"},
    ]  # fmt: skip
    assert census_summary(rows) == "2 of 3 classified; 2 mapped to registry entries, 1 agree, 1 disagree"
    table = _text(census_table(rows))
    assert "gqa (R)" in table and "NO" in table and "no cache" in table
