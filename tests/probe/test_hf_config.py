"""The small configs model types are probed at (archclass.probe.hf_config); skipped without transformers."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers", reason="needs transformers: pip install -e '.[hf]'")

from archclass.errors import ArchclassError  # noqa: E402
from archclass.probe.hf_config import HFProbeError, shrink, small_config  # noqa: E402

LENGTHS = (32, 64, 128, 256)


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


def test_shrink_keeps_the_relations_config_classes_check():
    small = shrink(
        {
            "hidden_size": 4096,
            "num_attention_heads": 32,
            "num_hidden_layers": 4,
            "head_dim": 64,
            "qk_rope_head_dim": 64,  # DeepSeek-V3: head_dim is the rotary dim
            "qk_nope_head_dim": 128,
            "rotary_dim": 32,  # half of each 128-wide head rotated
            "num_experts": 64,
            "num_experts_per_tok": None,  # left unset by the default config
            "n_groups": 8,
            "axial_pos_embds_dim": [1024, 3072],  # Reformer: parts of the width
        }
    )
    assert small["head_dim"] == small["qk_rope_head_dim"]
    assert small["rotary_dim"] * 2 == small["head_dim"]
    assert small["num_experts_per_tok"] <= small["num_experts"]
    assert small["num_attention_heads"] % small["n_groups"] == 0
    assert sum(small["axial_pos_embds_dim"]) == small["hidden_size"]


def test_a_model_built_for_top_1_routing_keeps_it():
    assert shrink({"hidden_size": 2048, "num_experts": 16, "num_experts_per_tok": 1})["num_experts_per_tok"] == 1


def test_a_config_validators_two_line_error_keeps_its_cause_on_the_one_line():
    from archclass.probe.hf_config import first_line

    error = ValueError("Class validation error for validator 'validate_architecture':\n    ValueError: x must be 0")
    assert first_line(error) == (
        "ValueError: Class validation error for validator 'validate_architecture': ValueError: x must be 0"
    )
    assert first_line(KeyError("full_attention")) == "KeyError: 'full_attention'"


def test_shrink_makes_fields_that_were_the_width_and_a_hybrids_attention_sub_config_small():
    small = shrink(
        {
            "hidden_size": 2048,
            "num_hidden_layers": 24,
            "value_dim": [2048] * 24,  # fla's RWKV-7: the width, per layer
            "dim_fx": 2048,  # fla's CAT: must equal the width
            "attn": {"layers": [1, 3], "num_heads": 18, "num_kv_heads": 18, "window_size": 2048},
        }
    )
    width = small["hidden_size"]
    assert small["dim_fx"] == width and set(small["value_dim"]) == {width}
    assert len(small["value_dim"]) == small["num_hidden_layers"] == 2
    assert small["attn"]["layers"] == [1] and small["attn"]["window_size"] < min(LENGTHS)
    assert width % small["attn"]["num_heads"] == 0 and small["attn"]["num_kv_heads"] == small["attn"]["num_heads"]
