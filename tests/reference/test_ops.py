"""The shared operations of the reference forms (src/archclass/reference/_ops.py)."""

import pytest
import torch

from archclass.reference._ops import mix_values


@pytest.mark.parametrize("tokens", [63, 64, 200, 1000])
def test_a_blocked_weighted_sum_equals_the_plain_product(tokens: int) -> None:
    """MLA's step sums over its whole cache in blocks; every length, a multiple of the block or not,
    gives p @ v."""
    generator = torch.Generator().manual_seed(tokens)
    p = torch.rand(2, 3, 5, tokens, generator=generator, dtype=torch.float64).softmax(-1)
    v = torch.randn(2, 3, tokens, 7, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(mix_values(p, v, block=64), p @ v, rtol=1e-12, atol=1e-12)


def test_a_blocked_weighted_sum_reads_values_through_a_view_of_a_larger_buffer() -> None:
    """The cache is the first n slots of a buffer with spare ones: the spare slots never enter the sum."""
    buffer = torch.randn(1, 300, 4, dtype=torch.float64)
    buffer[:, 130:] = float("nan")
    p = torch.rand(1, 6, 130, dtype=torch.float64)
    torch.testing.assert_close(mix_values(p, buffer[:, :130], block=32), p @ buffer[:, :130])
