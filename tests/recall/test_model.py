"""The recall LM: its short convolution is an OSP like the mixers, and the whole model's state is counted."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from archclass.osp import prefill, run_steps, state_scalars  # noqa: E402
from archclass.recall.model import RecallLM, ShortConv  # noqa: E402
from archclass.reference import catalog  # noqa: E402


@pytest.mark.parametrize("width", [1, 2, 4])
def test_short_conv_steps_equal_its_parallel_form_in_float64(width):
    torch.manual_seed(0)
    conv = ShortConv(8, width).double()
    with torch.no_grad():
        conv.weight.normal_()
    x = torch.randn(3, 11, 8, dtype=torch.float64)
    with torch.no_grad():
        stepped, state = run_steps(conv, x)
        parallel, prefilled = prefill(conv, x)
    torch.testing.assert_close(stepped, parallel, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state, prefilled, rtol=0, atol=0)
    assert state_scalars(state) == 3 * 8 * (width - 1)  # the last width - 1 inputs, per channel


def test_short_conv_is_causal():
    conv = ShortConv(4, 4)
    x = torch.randn(1, 10, 4)
    changed = x.clone()
    changed[:, 6:] += 1.0
    with torch.no_grad():
        torch.testing.assert_close(conv(x)[:, :6], conv(changed)[:, :6])


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
    # n_layers is the hybrid's own depth; softmax attention has no such argument and must not see it.
    samba = RecallLM(catalog()["samba"], 20, 16, n_layers=1, mixer_kwargs={"n_layers": 2, "chunk_size": 4})
    attention = RecallLM(catalog()["softmax-attention"], 20, 16, n_layers=1, mixer_kwargs={"n_layers": 2})
    assert len(samba.blocks[0].mixer.layers) == 2
    assert len(attention.blocks) == 1
