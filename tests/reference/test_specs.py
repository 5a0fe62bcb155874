"""The link between each reference and its registry entry: named on both sides, and sized alike.

A registry entry names its reference (`reference:` in the YAML) and a reference names its entry
(ReferenceSpec.arch_id); the two must agree both ways. A reference's registry_symbols put numbers on
the entry's state formula, which must then give the reference's exact state size: the same check the
probe makes on measured states, made here without measuring.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.probe.claims import NotComparable, registry_state_scalars  # noqa: E402
from archclass.reference import catalog  # noqa: E402
from archclass.registry import load_registry  # noqa: E402
from archclass.sizes import SIZES  # noqa: E402

from ..conftest import REGISTRY  # noqa: E402

SPECS = catalog()
NAMES = sorted(SPECS)
WITHOUT_FORMULA = {"native-sparse-attention", "log-linear-attention"}
"""Entries whose state is not written as one exact formula (Fenwick buckets; compressed blocks)."""


@pytest.fixture(scope="module")
def registry():
    return load_registry(REGISTRY)


def test_every_reference_names_an_entry_that_names_it_back(registry):
    for spec in SPECS.values():
        assert spec.arch_id in registry, f"{spec.name}: arch_id {spec.arch_id!r} is not in the registry"
        entry = registry.get(spec.arch_id)
        assert entry.id == spec.arch_id, f"{spec.name}: arch_id {spec.arch_id!r} is an alias of {entry.id!r}"
        assert entry.reference == spec.name, f"{entry.id}: reference {entry.reference!r}, expected {spec.name!r}"


def test_every_reference_field_names_an_existing_reference(registry):
    named = {entry.id: entry.reference for entry in registry if entry.reference}
    for arch_id, reference in named.items():
        assert reference in SPECS, f"{arch_id}: reference {reference!r} does not exist"
        assert SPECS[reference].arch_id == arch_id, f"{arch_id}: {reference!r} implements {SPECS[reference].arch_id!r}"
    assert len(named) == len(SPECS)


@pytest.mark.parametrize("name", NAMES)
def test_registry_formula_at_the_reference_symbols_gives_its_state(name, registry):
    spec = SPECS[name]
    assert spec.registry_symbols is not None, f"{name} declares no registry_symbols"
    assert spec.state_scalars is not None
    entry = registry.get(spec.arch_id)
    d_model = 64
    symbols = spec.registry_symbols(d_model, dict(spec.kwargs))
    if name in WITHOUT_FORMULA:
        with pytest.raises(NotComparable, match="gives no exact state_scalars formula"):
            registry_state_scalars(entry, registry, symbols, 1024)
        return
    for length in (1000, 4096):  # past every window and budget of the probe settings
        expected, _ = registry_state_scalars(entry, registry, symbols, length)
        assert expected == spec.state_scalars(length, d_model, dict(spec.kwargs)), f"{name} at T={length}"


def test_a_hybrid_component_without_symbols_is_named_not_skipped(registry):
    entry = registry.get("jamba")
    with pytest.raises(NotComparable, match="none for component 'gqa'"):
        registry_state_scalars(entry, registry, {"mamba.d": 64, "mamba.e": 2, "mamba.n": 16, "mamba.k": 4}, 100)


@pytest.mark.parametrize("size_name", sorted(SIZES))
def test_every_reference_builds_at_every_named_size(size_name):
    from archclass.reference import build, kwargs_at

    size = SIZES[size_name]
    for name, spec in SPECS.items():
        kwargs = kwargs_at(spec, size)
        with torch.device("meta"):  # shapes only: a d_model of 4096 allocates nothing
            model = build(spec, size.d, **kwargs)
        assert sum(p.numel() for p in model.parameters()) > 0, name
        assert spec.state_scalars is not None and spec.state_scalars(1000, size.d, kwargs) > 0, name


def test_tiny_is_the_probe_default_and_realistic_sizes_take_the_model_shapes():
    from archclass.reference import kwargs_at

    assert all(kwargs_at(spec, SIZES["tiny"]) == dict(spec.kwargs) for spec in SPECS.values())
    assert kwargs_at(SPECS["gqa"], SIZES["llama-3-8b"]) == {"n_heads": 32, "n_kv_heads": 8}
    assert kwargs_at(SPECS["mla"], SIZES["deepseek-v2-lite"]) == {"n_heads": 16, "d_latent": 512, "d_rope": 64}
    assert kwargs_at(SPECS["sliding-window-attention"], SIZES["mistral-7b"])["window"] == 4096
    assert kwargs_at(SPECS["mamba"], SIZES["mamba-2.8b"])["d_state"] == 16
    assert kwargs_at(SPECS["mamba-2"], SIZES["mamba2-2.7b"])["d_state"] == 128
    assert kwargs_at(SPECS["softmax-attention"], SIZES["mamba-2.8b"]) == {"n_heads": 20}  # heads of 128
