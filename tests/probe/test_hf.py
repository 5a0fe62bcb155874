"""Probing transformers models through their own caches (archclass.probe.hf); skipped without transformers."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")
pytest.importorskip("transformers", reason="needs transformers: pip install -e '.[hf]'")

from archclass.probe.hf import probe_hf  # noqa: E402
from archclass.probe.hf_config import small_config  # noqa: E402

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


def test_the_static_cache_timed_on_cuda_holds_every_warm_up_capture_and_replay_step():
    """The CUDA-graph timing's static-cache path, run eagerly on the CPU: every step it takes must fit the
    cache (transformers advances the write slot at each step, replays included), and the first step must
    decode what the dynamic cache decodes."""
    import torch
    import transformers

    from archclass.probe.hf import _Runner, _static_step, _static_steps

    config = small_config("llama")
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config).eval()
    length, repeats = 32, 20
    runner = _Runner(model, config.vocab_size, "cpu", length, repeats)
    cache, _ = runner.prefill(length)
    dynamic = runner.step(cache, length).logits[:, -1]
    steps = _static_steps(repeats)
    step = _static_step(runner, config, length, steps)
    outputs = [step().logits[:, -1] for _ in range(steps)]  # an index past the cache raises here
    torch.testing.assert_close(outputs[0], dynamic, rtol=1e-4, atol=1e-4)
    # The H200 run of 2026-12-03 decoded an empty input at T = 65,536: the draw stopped at 32,768.
    far = _Runner(model, config.vocab_size, "cpu", 65_536, repeats)
    assert far.tokens[:, 65_536 + steps - 1 : 65_536 + steps].numel() == 1


def test_the_floor_counts_the_weights_a_step_reads_top_k_experts_and_one_embedding_row():
    import transformers

    from archclass.probe.hf import step_weight_bytes

    config = small_config("mixtral")  # top-2 of 4 experts, untied embedding and head
    model = transformers.AutoModelForCausalLM.from_config(config)
    named = dict(model.named_parameters())
    experts = sum(p.numel() * 4 for n, p in named.items() if ".experts." in n)  # float32
    embedding = model.get_input_embeddings().weight
    everything = sum(p.numel() * 4 for p in named.values())
    expected = everything - experts // 2 - embedding.numel() * 4 + embedding.shape[1] * 4
    assert step_weight_bytes(model, config) == expected
    dense = small_config("llama")
    dense_model = transformers.AutoModelForCausalLM.from_config(dense)
    rows = dense_model.get_input_embeddings().weight
    assert (
        step_weight_bytes(dense_model, dense)
        == sum(p.numel() * 4 for p in dense_model.parameters()) - (rows.numel() - rows.shape[1]) * 4
    )


def test_a_growing_cache_behind_kernels_the_counter_cannot_see_is_not_called_efficient(monkeypatch):
    import transformers

    from archclass.probe import hf
    from archclass.probe.hf_config import HFProbeError

    # fla's layers launch Triton kernels the FLOP counter cannot see; stand in with llama and mamba
    # dressed as fla models (fla itself needs a GPU).
    monkeypatch.setattr(hf, "_refuse_fla_on_cpu", lambda model, device: None)
    monkeypatch.setattr(transformers.LlamaForCausalLM, "__module__", "fla.models.stand_in")
    monkeypatch.setattr(transformers.MambaForCausalLM, "__module__", "fla.models.stand_in")
    with pytest.raises(HFProbeError, match="efficiency not measured") as refused:
        probe_hf("llama", lengths=LENGTHS)
    assert refused.value.kind == "uncounted"
    constant = probe_hf("mamba", lengths=LENGTHS)
    assert constant.placement == "EC"
    assert any("Triton kernels are not in the counted FLOPs" in note for note in constant.notes)
