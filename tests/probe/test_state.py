"""Counting state in any object that holds tensors, each storage once (archclass.probe.state)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.probe.state import count_state  # noqa: E402


class LayerCache:
    def __init__(self, keys, values):
        self.keys, self.values = keys, values


class Cache:
    """Shaped like a transformers Cache: a list of per-layer objects, found without knowing the class."""

    def __init__(self, layers):
        self.layers = layers
        self.offloading = False


@dataclass
class Recurrent:
    conv: object
    ssm: object


def test_pytrees_dataclasses_and_plain_objects_are_all_counted():
    state = {"a": torch.zeros(3, 4), "b": [torch.zeros(5), (torch.zeros(2, 2),)]}
    assert count_state(state).scalars == 12 + 5 + 4
    cache = Cache(
        [LayerCache(torch.zeros(1, 2, 7, 4), torch.zeros(1, 2, 7, 4)), Recurrent(torch.zeros(6), torch.zeros(8))]
    )
    counted = count_state(cache)
    assert counted.scalars == 2 * 56 + 6 + 8
    assert counted.bytes == 4 * counted.scalars
    assert set(counted.by_path) == {".layers[0].keys", ".layers[0].values", ".layers[1].conv", ".layers[1].ssm"}


def test_a_storage_referenced_twice_counts_once():
    buffer = torch.zeros(10, 4)
    shared = {"keys": buffer, "again": buffer, "view": buffer[:5]}
    assert count_state(shared).scalars == 40


def test_non_tensor_leaves_count_nothing():
    assert count_state({"length": 5, "name": "x", "none": None}).scalars == 0


def test_cycles_do_not_loop():
    node: dict = {"t": torch.zeros(3)}
    node["self"] = node
    assert count_state(node).scalars == 3
