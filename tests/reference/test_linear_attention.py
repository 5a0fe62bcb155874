"""The chunked parallel form of linear attention and retention (reference/linear_attention.py)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.reference.linear_attention import LinearAttention, RetNet  # noqa: E402


@pytest.mark.parametrize("family", [LinearAttention, RetNet])
def test_the_chunked_form_equals_the_whole_sequence_form_and_the_recurrence(family):
    torch.manual_seed(0)
    module = family(16, n_heads=2, chunk_size=4).double()
    x = torch.randn(3, 19, 16, dtype=torch.float64)  # 19 tokens: four whole chunks and a partial one
    chunked = module(x)
    module.chunk = 0
    whole = module(x)
    state, stepped = module.init_state(3), []
    for t in range(x.shape[1]):
        y, state = module.step(x[:, t], state)
        stepped.append(y)
    torch.testing.assert_close(chunked, whole, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(torch.stack(stepped, 1), chunked, rtol=1e-10, atol=1e-10)
