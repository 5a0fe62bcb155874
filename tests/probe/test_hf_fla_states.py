"""benchmarks/hf/fla_states.py finds fla's own config and model classes and counts the first layer's state.

The fla tests run where flash-linear-attention imports (it needs triton installed, not a GPU: building a
config or a model runs no kernel); elsewhere they are skipped.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from ..conftest import ROOT


def _script() -> ModuleType:
    name = "archclass_bench_fla_states"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "hf" / "fla_states.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules[name]


def _fla_or_skip() -> None:
    try:
        importlib.import_module("fla.models")
    except Exception as error:  # fla absent, or triton absent under it
        pytest.skip(f"flash-linear-attention does not import here: {type(error).__name__}: {error}")


def test_only_the_first_layer_is_counted_by_kind() -> None:
    by_path = {
        ".layers[0].state['recurrent_state']": 16384,
        ".layers[0].state['conv_state'][1]": 768,
        ".layers[1].state['recurrent_state']": 16384,
        ".layers[1].state['ffn_state']": 256,
    }
    assert _script().state_by_category(by_path) == {"recurrent_state": 16384, "conv_state": 768}


@pytest.mark.parametrize("name", sorted(_script().FAMILIES))
def test_every_family_builds_fla_config_and_model(name: str) -> None:
    _fla_or_skip()
    from transformers import PreTrainedConfig

    script = _script()
    family = script.FAMILIES[name]
    config = script.fla_config(family)
    # fla's own class (not transformers' AutoConfig, which the package namespace also holds)
    assert isinstance(config, PreTrainedConfig)
    assert type(config).__module__.startswith(f"fla.models.{family.fla_package}.")
    assert config.hidden_size == script.WIDTH
    assert config.num_hidden_layers == family.fla_layers
    assert {key: getattr(config, key) for key in family.fla_config} == dict(family.fla_config)
    model = script.fla_model(family)
    assert type(model).__name__.endswith("ForCausalLM")
    assert type(model).__module__.startswith(f"fla.models.{family.fla_package}.")
    assert model.config.hidden_size == script.WIDTH
