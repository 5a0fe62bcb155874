"""probe_targets with workers > 1: the same counts and order as one at a time, and one-line errors."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.errors import ArchclassError  # noqa: E402
from archclass.probe import probe_targets  # noqa: E402

LENGTHS = [16, 32, 64, 128]


def _counts(results):
    return [(r.target, [(m.state_scalars, m.step_flops, m.step_bytes) for m in r.measurements]) for r in results]


def test_two_processes_measure_what_one_does_in_the_targets_order():
    names = ["retnet", "mingru", "gqa"]
    seen = []
    parallel = probe_targets(names, lengths=LENGTHS, workers=2, progress=lambda label, n: seen.append(label))
    serial = probe_targets(names, lengths=LENGTHS, workers=1)
    assert _counts(parallel) == _counts(serial) and [r.target for r in parallel] == names
    assert [r.classification["placement"] for r in parallel] == [r.classification["placement"] for r in serial]
    assert sorted(seen) == sorted(name for name in names for _ in LENGTHS)


def test_a_failing_target_stops_the_run_with_its_one_line_error():
    with pytest.raises(ArchclassError, match="no-such-layer"):
        probe_targets(["mingru", "no-such-layer"], lengths=LENGTHS, workers=2)
