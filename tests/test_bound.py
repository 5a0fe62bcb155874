import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archclass.bound import BoundError, recall_bound

states = st.floats(min_value=0, max_value=1e12, allow_nan=False)
bits = st.floats(min_value=1, max_value=64)
vocabs = st.integers(min_value=16, max_value=2**20)
accuracies = st.floats(min_value=0.5, max_value=1.0)


def test_worked_example():
    # 1,000 scalars of 16 bits, V = 1024 (10 bits a value), perfect accuracy: 16000 / 9 pairs.
    assert recall_bound(1000, 16, 1024, 1.0).max_pairs == pytest.approx(16000 / 9)


@given(states, states, bits, vocabs, accuracies)
def test_more_state_never_recalls_less(n1, n2, p, v, a):
    low, high = sorted((n1, n2))
    assert recall_bound(low, p, v, a).max_pairs <= recall_bound(high, p, v, a).max_pairs


@given(states, bits, vocabs, accuracies, accuracies)
def test_higher_accuracy_allows_fewer_pairs(n, p, v, a1, a2):
    low, high = sorted((a1, a2))
    assert recall_bound(n, p, v, high).max_pairs <= recall_bound(n, p, v, low).max_pairs * (1 + 1e-12)


@given(states, bits, vocabs, vocabs, accuracies)
def test_larger_vocabulary_allows_fewer_pairs(n, p, v1, v2, a):
    low, high = sorted((v1, v2))
    assert recall_bound(n, p, high, a).max_pairs <= recall_bound(n, p, low, a).max_pairs * (1 + 1e-12)


@given(st.floats(min_value=1, max_value=1e9), bits, vocabs)
def test_the_bound_never_forbids_what_plain_storage_achieves(n, p, v):
    # Writing each value's log2 V bits into the state recalls floor(n p / log2 V) pairs perfectly,
    # so no valid upper bound may be smaller.
    stored = math.floor(n * p / math.ceil(math.log2(v)))
    assert recall_bound(n, p, v, 1.0).max_pairs >= stored


@given(st.floats(min_value=1, max_value=1e9), bits, vocabs, accuracies)
def test_pairs_scale_with_state_bits(n, p, v, a):
    one = recall_bound(n, p, v, a).max_pairs
    assert recall_bound(2 * n, p, v, a).max_pairs == pytest.approx(2 * one)
    assert recall_bound(n, 2 * p, v, a).max_pairs == pytest.approx(2 * one)


def test_bound_diverges_as_accuracy_approaches_chance_threshold():
    v = 1024  # threshold 1/log2 V = 0.1
    assert recall_bound(100, 16, v, 0.1001).max_pairs > 1000 * recall_bound(100, 16, v, 0.9).max_pairs


def test_zero_state_recalls_nothing():
    assert recall_bound(0, 16, 32000, 0.9).max_pairs == 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((100, 16, 1024, 0.05), "accuracy > 1/log2(V)"),
        ((100, 16, 1, 0.9), "at least 2"),
        ((-1, 16, 1024, 0.9), "state size"),
        ((100, 0, 1024, 0.9), "bits"),
        ((100, 16, 1024, 1.5), "(0, 1]"),
    ],
)
def test_undefined_arguments_are_refused(args, fragment):
    with pytest.raises(BoundError, match=None) as error:
        recall_bound(*args)
    assert fragment in str(error.value)
