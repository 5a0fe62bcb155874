"""The one state walker: tensors found in any object, each storage counted once, private copies."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from torch import nn  # noqa: E402

from archclass.osp import copy_state, state_bytes, state_leaves, state_scalars, state_tensors  # noqa: E402


@dataclass
class Layer:
    keys: torch.Tensor
    values: torch.Tensor
    seen: int = 0


class Slotted:
    __slots__ = ("buffer", "length")

    def __init__(self) -> None:
        self.buffer = torch.zeros(2, 3)
        self.length = 1


class Cache:
    def __init__(self) -> None:
        self.layers = [
            Layer(torch.zeros(1, 4, 2), torch.zeros(1, 4, 2)),
            Layer(torch.zeros(1, 5, 2), torch.zeros(1, 5, 2)),
        ]
        self.slotted = Slotted()
        self.config = {"name": "stand-in", "heads": 2}
        self.owner = self  # a cycle


def test_tensors_are_found_in_dataclasses_slots_lists_dicts_and_plain_objects():
    paths = {path for path, leaf in state_leaves(Cache()) if isinstance(leaf, torch.Tensor)}
    assert paths == {
        ".layers[0].keys", ".layers[0].values", ".layers[1].keys", ".layers[1].values", ".slotted.buffer",
    }  # fmt: skip
    assert state_scalars(Cache()) == 2 * 8 + 2 * 10 + 6


def test_python_values_are_walked_but_not_counted():
    leaves = dict(state_leaves({"h": torch.zeros(3), "t": 7, "name": "x", "none": None}))
    assert leaves["['t']"] == 7 and leaves["['name']"] == "x"
    assert state_scalars({"h": torch.zeros(3), "t": 7, "name": "x"}) == 3


def test_a_state_of_no_tensors_has_no_scalars():
    assert state_scalars(None) == 0 and state_scalars("state") == 0 and state_scalars({"t": 3}) == 0


def test_a_storage_held_twice_is_counted_once():
    kv = torch.zeros(2, 10, 4)
    assert state_scalars({"k": kv, "same": kv}) == 80
    assert state_scalars({"k": kv[0], "v": kv[1]}) == 80  # two halves of one buffer
    assert state_scalars({"whole": kv, "half": kv[0]}) == 80
    assert state_scalars({"a": kv[:, :3], "b": kv[:, 2:5]}) == 2 * 5 * 4  # overlapping views: their union
    assert state_bytes({"k": kv, "half": kv[1]}) == 80 * 4


def test_a_view_counts_what_it_shows_not_its_whole_buffer():
    buffer = torch.zeros(1, 1000, 8)
    assert state_scalars({"filled": buffer[:, :10]}) == 80


def test_module_weights_inside_a_state_are_not_state():
    layer = nn.Linear(4, 4)
    assert state_scalars({"h": torch.zeros(4), "module": layer, "weight": layer.weight}) == 4


def test_a_copy_is_private_and_keeps_shared_storages_shared():
    kv = torch.zeros(2, 10, 4)
    state = {"k": kv[0], "v": kv[1], "cache": Cache()}
    copied = copy_state(state)
    copied["k"].add_(1.0)
    copied["cache"].layers[0].keys.add_(1.0)
    assert kv.abs().sum() == 0 and state["cache"].layers[0].keys.abs().sum() == 0
    assert state_scalars(copied) == state_scalars(state)
    assert len(list(state_tensors(copied))) == len(list(state_tensors(state)))
