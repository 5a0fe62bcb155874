"""Lengths whose state would not fit are left out, with the estimate, before anything is allocated."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.errors import ArchclassError  # noqa: E402
from archclass.probe.memory import lengths_that_fit  # noqa: E402

GROWING = [100 * t for t in range(9)]  # 100 bytes of state a token
CPU = torch.device("cpu")


def test_lengths_beyond_memory_are_left_out_with_the_estimate():
    lengths, note = lengths_that_fit("cache", GROWING, [64, 128, 256, 10**12], 8, torch.float32, CPU)
    assert lengths == [64, 128, 256]
    assert note is not None and note.startswith("lengths 1,000,000,000,000 left out: probing to T = 1,000,000,000,000")
    assert "state 100.0 TB" in note


def test_spare_slots_of_a_buffered_cache_count_in_the_estimate():
    _, note = lengths_that_fit("cache", GROWING, [64, 128, 256, 10**12], 8, torch.float32, CPU, buffered=True)
    assert note is not None and "with up to 4x spare slots" in note


def test_fewer_than_three_lengths_that_fit_is_refused():
    with pytest.raises(ArchclassError, match=r"^cache: probing to T = 1,000,000,000,000 needs about"):
        lengths_that_fit("cache", GROWING, [64, 10**11, 10**12], 8, torch.float32, CPU)
