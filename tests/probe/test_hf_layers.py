"""Which layers a small config keeps, with every per-layer field cut to them (archclass.probe.hf_layers)."""

from __future__ import annotations

from archclass.probe.hf_layers import cut_layers


def keep_size(key, size):
    return size


def test_every_per_layer_list_is_cut_to_the_same_layers_and_every_combination_of_kinds_is_kept():
    values = {
        "num_hidden_layers": 8,
        "layer_types": ["sliding", "full"] * 4,
        "mlp_layer_types": ["dense"] + ["sparse"] * 7,
        "num_attention_heads_per_layer": [48] * 8,
    }
    changes = cut_layers(values, None, lambda key, size: 4)
    kept = changes["num_hidden_layers"]
    assert kept == 3  # (sliding, dense), (full, sparse), (sliding, sparse): each pair of kinds there is
    assert changes["layer_types"] == ["sliding", "full", "sliding"]
    assert changes["mlp_layer_types"] == ["dense", "sparse", "sparse"]
    assert changes["num_attention_heads_per_layer"] == [4] * kept


def test_index_lists_and_per_layer_overrides_are_renumbered_to_the_kept_layers():
    values = {
        "num_hidden_layers": 12,
        "attn_layer_indices": [3, 7, 11],
        "per_layer_config": {"03": {"head_dim": 512}, "07": {"head_dim": 512}},
    }
    changes = cut_layers(values, None, lambda key, size: 16 if key == "head_dim" else size)
    assert changes["num_hidden_layers"] == 4  # up to the first attention layer, where the mamba-only run ends
    assert changes["attn_layer_indices"] == [3]
    assert changes["per_layer_config"] == {"03": {"head_dim": 16}}


def test_counts_that_partition_the_layers_still_add_up_to_the_kept_layers():
    values = {
        "num_hidden_layers": 72,
        "layer_types": ["sliding", "mlp", "sliding", "mlp", "full", "mlp"] * 12,
        "n_input_layers": 16,
        "n_recurrent_layers": 40,
        "n_output_layers": 16,
    }
    changes = cut_layers(values, None, keep_size)
    kept = changes["num_hidden_layers"]
    assert kept == 6  # a layer and its MLP stay paired: the period ends where the first kind comes back
    assert changes["n_input_layers"] + changes["n_recurrent_layers"] + changes["n_output_layers"] == kept
    assert min(changes["n_input_layers"], changes["n_recurrent_layers"], changes["n_output_layers"]) >= 1


def test_a_pattern_shorter_than_the_layers_repeats_and_per_kind_keeps_that_many_of_each():
    values = {"num_hidden_layers": 26, "block_types": ["recurrent", "recurrent", "attention"]}
    assert cut_layers(values, None, keep_size) == {"block_types": ["recurrent", "recurrent", "attention"],
                                                   "num_hidden_layers": 3}  # fmt: skip
    values = {"num_hidden_layers": 6, "layer_types": ["a", "a", "a", "b", "b", "b"]}
    assert cut_layers(values, 2, keep_size)["layer_types"] == ["a", "a", "b", "b"]


def test_a_config_without_layer_kinds_keeps_one_period_or_two_layers():
    assert cut_layers({"num_hidden_layers": 32}, None, keep_size) == {"num_hidden_layers": 2}
    jamba = {"num_hidden_layers": 32, "attn_layer_period": 8, "expert_layer_period": 2}
    assert cut_layers(jamba, None, keep_size)["num_hidden_layers"] == 8


def test_layers_that_share_an_earlier_layers_cache_leave_every_kind_among_the_layers_before_them():
    values = {"num_hidden_layers": 35, "layer_types": ["s", "s", "s", "s", "f"] * 7, "num_kv_shared_layers": 15}
    changes = cut_layers(values, None, keep_size)
    kept, shared = changes["num_hidden_layers"], changes["num_kv_shared_layers"]
    assert kept == 10 and 1 <= shared < kept
    assert set(changes["layer_types"][: kept - shared]) == {"s", "f"}


def test_index_lists_inside_a_sub_config_are_renumbered_too():
    # fla's hybrids name their attention layers in a sub-config: attn = {"layers": [...], ...}
    values = {"num_hidden_layers": 18, "attn": {"layers": [1, 3, 5, 7], "num_heads": 18}}
    changes = cut_layers(values, None, lambda key, size: size)
    assert changes["num_hidden_layers"] == 2
    assert changes["attn"] == {"layers": [1], "num_heads": 18}
