"""A transformers decoder wrapped as an OSP module: its DynamicCache is found, copied and counted right.

Optional: skipped where transformers is not installed. The model is a random 2-layer Llama built from a
config (nothing is downloaded). Its cache grows by one key and one value per layer and kv head a token,
and transformers updates it in place, which once made every counted or timed call grow it further.
"""

from __future__ import annotations

import inspect

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")
transformers = pytest.importorskip("transformers", reason="needs transformers: pip install transformers")

from torch import nn  # noqa: E402

from archclass.probe.runner import probe_module  # noqa: E402

D_MODEL, LAYERS, KV_HEADS, HEAD_DIM = 32, 2, 2, 8


class LlamaDecoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        config = transformers.LlamaConfig(
            hidden_size=D_MODEL, num_hidden_layers=LAYERS, num_attention_heads=4, num_key_value_heads=KV_HEADS,
            head_dim=HEAD_DIM, intermediate_size=64, vocab_size=16, max_position_embeddings=4096,
        )  # fmt: skip
        torch.manual_seed(0)
        self.model = transformers.LlamaModel(config)

    def init_state(self, batch: int):
        return transformers.DynamicCache()

    def step(self, x, cache):
        # Recent releases call the argument `cache`; older ones `past_key_values`.
        name = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
        out = self.model(inputs_embeds=x.unsqueeze(1), use_cache=True, **{name: cache})
        return out.last_hidden_state[:, -1], cache

    def forward(self, x):
        return self.model(inputs_embeds=x, use_cache=False).last_hidden_state


def test_a_dynamic_cache_is_counted_at_its_true_size():
    lengths = [16, 32, 64, 128]
    result = probe_module(LlamaDecoder(), label="llama", d_model=D_MODEL, lengths=lengths, repeats=2)
    truth = [2 * LAYERS * KV_HEADS * HEAD_DIM * t for t in lengths]
    assert [m.state_scalars for m in result.measurements] == truth
    assert [m.max_state_scalars for m in result.measurements] == truth
    assert result.modifies_input is True
    assert result.fit["state"].growth == "linear" and result.classification["compact"] is False


def test_a_static_cache_counts_its_filled_part_or_is_refused():
    from archclass.errors import ArchclassError

    class StaticLlama(LlamaDecoder):
        def init_state(self, batch: int):
            return transformers.StaticCache(config=self.model.config, max_cache_len=300)

    lengths = [16, 32, 64, 128]
    layer = transformers.StaticCache(config=LlamaDecoder().model.config, max_cache_len=8).layers[0]
    if not hasattr(layer, "cumulative_length"):  # releases whose static cache keeps no length
        with pytest.raises(ArchclassError, match="preallocated buffer .* cannot be known"):
            probe_module(StaticLlama(), label="static", d_model=D_MODEL, lengths=lengths, repeats=2)
        return
    result = probe_module(StaticLlama(), label="static", d_model=D_MODEL, lengths=lengths, repeats=2)
    assert [m.state_scalars for m in result.measurements] == [2 * LAYERS * KV_HEADS * HEAD_DIM * t for t in lengths]
    assert any("preallocated buffer of 300 slots" in note for note in result.notes)
    assert result.classification["compact"] is False
