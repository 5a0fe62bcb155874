"""Probing transformers models through their own caches (archclass.probe.hf); skipped without transformers."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")
pytest.importorskip("transformers", reason="needs transformers: pip install -e '.[hf]'")

from archclass.errors import ArchclassError  # noqa: E402
from archclass.probe.hf import HFProbeError, probe_hf, shrink, small_config  # noqa: E402

LENGTHS = (32, 64, 128, 256)


def test_mamba_is_compact_and_efficient():
    result = probe_hf("mamba", lengths=LENGTHS)
    assert (result.efficient, result.compact, result.placement) == (True, True, "EC")
    assert len(set(result.state_scalars)) == 1


def test_llama_is_neither_compact_nor_efficient_and_its_cache_is_exactly_its_keys_and_values():
    result = probe_hf("llama", lengths=LENGTHS)
    assert (result.efficient, result.compact) == (False, False)
    config = small_config("llama")
    per_token = 2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim
    assert result.state_scalars == [per_token * t for t in LENGTHS]
    assert result.step_flops[-1] > result.step_flops[0]  # fused attention is counted, not read as 0


def test_a_sliding_window_mistral_is_compact():
    result = probe_hf("mistral", overrides={"sliding_window": 16}, lengths=LENGTHS)
    assert result.compact and result.efficient


def test_a_hybrid_keeps_its_layer_pattern_and_reports_state_per_kind():
    result = probe_hf("qwen3_next", lengths=LENGTHS)
    assert result.layer_kinds.count("linear_attention") == 3 * result.layer_kinds.count("full_attention")
    assert not result.compact
    constant, growing = result.state_by_kind["linear_attention"], result.state_by_kind["full_attention"]
    assert len(set(constant)) == 1 and growing[-1] == 8 * growing[0]


def test_shrink_keeps_windows_below_the_probed_lengths_and_one_period_of_layers():
    small = shrink(
        {
            "hidden_size": 4096,
            "num_hidden_layers": 26,
            "sliding_window": 4096,
            "layer_types": ["sliding_attention"] * 5 + ["full_attention"],
        }
    )
    assert small["hidden_size"] == 64 and small["sliding_window"] < min(LENGTHS)
    assert small["num_hidden_layers"] == 6 and small["layer_types"][-1] == "full_attention"


def test_unknown_model_type_suggests_close_matches():
    with pytest.raises(HFProbeError, match="did you mean llama"):
        small_config("lama")


def test_an_unparsable_config_json_is_one_clear_error(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(HFProbeError, match="not a readable config.json"):
        small_config("", config_path=path)


def test_an_override_of_a_field_the_config_lacks_is_refused():
    with pytest.raises(ArchclassError, match="no field 'sliding_windw'"):
        small_config("mistral", {"sliding_windw": 32})


def test_a_real_config_json_keeps_its_sizes(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "model_type": "llama",
                "hidden_size": 128,
                "num_attention_heads": 2,
                "num_key_value_heads": 1,
                "num_hidden_layers": 3,
                "intermediate_size": 64,
                "vocab_size": 300,
            }
        ),
        encoding="utf-8",
    )
    config = small_config("", config_path=path, layers=1)
    assert (config.hidden_size, config.num_hidden_layers, config.num_key_value_heads) == (128, 1, 1)


def test_an_fla_model_type_on_a_machine_without_fla_says_it_needs_a_gpu():
    pytest.importorskip("transformers")
    import importlib.util

    if importlib.util.find_spec("triton") is not None:
        pytest.skip("triton is installed here, so fla may register its types")
    with pytest.raises(HFProbeError, match="need a GPU"):
        small_config("gated_deltanet")
