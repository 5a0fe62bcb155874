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


def test_a_named_size_sets_a_references_width_and_hyperparameters():
    from archclass.sizes import SIZES

    target = resolve("mla", d_model=2048, kwargs={}, registry=None, size=SIZES["deepseek-v2-lite"])
    assert target.kwargs == {"n_heads": 16, "d_latent": 512, "d_rope": 64}
    assert target.registry_symbols == {"d": 2048, "c": 512, "r": 64, "h": 16}
    overridden = resolve("gqa", d_model=4096, kwargs={"n_kv_heads": 4}, registry=None, size=SIZES["llama-3-8b"])
    assert (
        overridden.kwargs == {"n_heads": 32, "n_kv_heads": 4}
        and overridden.model.qkv.out_features == (32 + 2 * 4) * 128
    )


def test_an_unknown_size_or_keyword_is_one_line_naming_what_is_known():
    with pytest.raises(ArchclassError, match=r"unknown size 'llama-9'; choose from tiny, llama-3-8b, "):
        probe("gqa", size="llama-9", lengths=[8, 16, 32])
    with pytest.raises(ArchclassError, match=r"^gqa: cannot be built with .*'heads': 3.*unexpected keyword"):
        probe("gqa", kwargs={"heads": 3}, lengths=[8, 16, 32])


def test_the_cpu_default_is_tiny_in_float32_and_the_result_names_its_size():
    result = probe("mqa", lengths=[8, 16, 32], repeats=1, check=False)
    assert (result.size, result.d_model, result.dtype, result.kwargs) == (
        "tiny",
        64,
        "float32",
        {"n_heads": 4, "n_kv_heads": 1},
    )
    assert result.as_dict()["size"] == "tiny"
    wide = probe("mqa", size="llama-3-8b", lengths=[8, 16, 32], repeats=1, check=False)
    assert (wide.d_model, wide.kwargs) == (4096, {"n_heads": 32, "n_kv_heads": 1})
    assert wide.measurements[-1].state_scalars == 2 * 128 * 32  # one kv head of 128, filled slots only
