"""What probe can be pointed at: a reference name, a registry id or alias, a file and class, a module."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.errors import ArchclassError  # noqa: E402
from archclass.probe import probe  # noqa: E402
from archclass.probe.targets import resolve  # noqa: E402
from archclass.registry import load_registry  # noqa: E402

from ..conftest import REGISTRY, ROOT  # noqa: E402

EXAMPLE = f"{ROOT}/examples/ema_layer.py:EMALayer"


def test_a_reference_is_found_by_its_name_or_its_registry_id_or_alias():
    registry = load_registry(REGISTRY)
    by_name = resolve("softmax-attention", d_model=32, kwargs={}, registry=registry)
    by_id = resolve("transformer", d_model=32, kwargs={}, registry=registry)
    assert by_name.label == by_id.label == "softmax-attention" and by_id.arch_id == "transformer"
    assert by_id.registry_symbols == {"d": 32}
    alias = next(iter(registry.get("mamba").aliases), None)
    if alias:
        assert resolve(alias, d_model=32, kwargs={}, registry=registry).label == "mamba"


def test_hyperparameters_override_a_reference_and_d_model_sets_its_width():
    target = resolve("sliding-window-attention", d_model=32, kwargs={"window": 8, "d_model": 16}, registry=None)
    assert target.d_model == 16 and target.kwargs["window"] == 8 and target.registry_symbols == {"d": 16, "w": 8}


def test_a_file_and_class_is_built_with_its_keywords():
    target = resolve(EXAMPLE, d_model=64, kwargs={"d_model": 12, "decay": 0.5}, registry=None)
    assert target.d_model == 12 and target.model.decay == 0.5 and target.arch_id is None


def test_unknown_targets_and_bad_widths_are_one_line():
    with pytest.raises(ArchclassError, match="no reference implementation for 'nothing'; available: "):
        resolve("nothing", d_model=32, kwargs={}, registry=None)
    with pytest.raises(ArchclassError, match="d_model must be a positive integer, not 'abc'"):
        resolve(EXAMPLE, d_model=64, kwargs={"d_model": "abc"}, registry=None)
    with pytest.raises(ArchclassError, match="does not follow the OSP interface: missing init_state, step"):
        resolve(torch.nn.Linear(4, 4), d_model=4, kwargs={}, registry=None)
    with pytest.raises(ArchclassError, match="cannot be built with"):
        resolve("gqa", d_model=30, kwargs={}, registry=None)  # 4 heads do not divide 30


def test_probe_takes_a_module_object_and_returns_its_result():
    from ema_layer import EMALayer  # type: ignore[import-not-found]

    result = probe(EMALayer(8), d_model=8, lengths=[16, 32, 64, 128], repeats=1)
    assert result.target == "EMALayer" and result.classification["placement"] == "EC"
    assert result.registry is None and result.as_dict()["measurements"][0]["state_scalars"] == 8


def test_probe_checks_a_reference_against_its_registry_entry():
    result = probe("retnet", d_model=16, lengths=[16, 32, 64, 128], repeats=1, registry=REGISTRY)
    assert result.arch_id == "retnet" and result.registry is not None
    assert result.registry["agrees_all"] and result.registry["state_formula"]["agrees"]
