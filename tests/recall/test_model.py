"""The recall LM: the whole model's state is counted, and mixer keywords reach only the mixers that take them."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.recall.model import RecallLM  # noqa: E402
from archclass.reference import catalog  # noqa: E402


@pytest.mark.parametrize("arch", ["linear-attention", "softmax-attention"])
def test_model_state_is_the_mixers_plus_the_convolution_buffers(arch):
    spec = catalog()[arch]
    d, layers, T = 16, 2, 24
    tokens = torch.randint(0, 20, (1, T))
    with_conv = RecallLM(spec, 20, d, n_layers=layers, conv_width=4, mixer_kwargs={"n_heads": 2})
    without = RecallLM(spec, 20, d, n_layers=layers, conv_width=1, mixer_kwargs={"n_heads": 2})
    assert spec.state_scalars is not None
    mixers = layers * spec.state_scalars(T, d, {"n_heads": 2})
    assert without.state_after(tokens)[0] == mixers
    assert with_conv.state_after(tokens)[0] == mixers + layers * d * 3


def test_mixer_keywords_reach_only_the_families_that_take_them():
    # n_layers is the hybrid's own depth; softmax attention has no such argument and must not see it,
    # and the model's depth stays its own (3), whatever depth the keywords give a mixer (2).
    samba = RecallLM(catalog()["samba"], 20, 16, n_layers=3, mixer_kwargs={"n_layers": 2, "chunk_size": 4})
    attention = RecallLM(catalog()["softmax-attention"], 20, 16, n_layers=3, mixer_kwargs={"n_layers": 2})
    assert [len(block.mixer.layers) for block in samba.blocks] == [2, 2, 2]
    assert samba.blocks[0].mixer.layers[0].chunk == 4  # the Mamba layer took chunk_size
    assert len(attention.blocks) == 3
    assert all(type(block.mixer).__name__ == "SoftmaxAttention" for block in attention.blocks)


def test_scored_positions_get_the_logits_the_full_forward_gives_them():
    import torch

    torch.manual_seed(0)
    model = RecallLM(catalog()["linear-attention"], vocab_size=40, d_model=16).eval()
    tokens = torch.randint(0, 40, (3, 24))
    scored = torch.rand(3, 24) < 0.3
    with torch.no_grad():
        full, only = model(tokens), model(tokens, scored)
    assert only.shape == (int(scored.sum()), 40)
    torch.testing.assert_close(only, full[scored])


def test_the_output_head_scores_a_token_by_its_own_embedding():
    # Tied weights (Zoology's): answering a query is copying the value's embedding to the query
    # position; an untied head left even attention on the first plateau at V = 1,024.
    vocab, d = 50, 16
    model = RecallLM(catalog()["softmax-attention"], vocab, d)
    hidden = model.embed.weight[7].detach().clone()[None]
    scores = model.head(hidden)[0]
    assert scores.argmax().item() == 7
    untied = sum(p.numel() for p in RecallLM(catalog()["softmax-attention"], vocab + 1, d).parameters())
    assert untied - sum(p.numel() for p in model.parameters()) == d  # one more token costs one embedding row, not two
