"""The public Python API: archclass.classify and friends, as a user calls them."""

from __future__ import annotations

import subprocess
import sys

import pytest

import archclass
from archclass.registry import registry_from_text
from archclass.schema import Architecture

from .test_registry import GOOD, HYBRID


def python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_one_liner_from_the_readme():
    assert python("import archclass; print(archclass.classify('retnet').placement)") == "EC"


def test_importing_the_package_loads_nothing_heavy():
    loaded = python(
        "import sys, archclass; print(sorted(m for m in sys.modules if m.startswith("
        "('archclass.', 'pydantic', 'yaml', 'torch', 'typer', 'rich'))))"
    )
    assert loaded == "[]"


def test_classify_stays_the_function_after_the_classifier_module_is_imported():
    code = "import archclass, archclass.classifier, archclass.api; print(archclass.classify('mamba').placement)"
    assert python(code) == "EC"


def test_classify_by_any_name_with_settings():
    by_alias = archclass.classify("Retentive Network")
    assert by_alias.id == "retnet" and by_alias.placement == "EC"
    small = archclass.classify("retnet", settings=archclass.BoundSettings(d=64, layers=1))
    large = archclass.classify("retnet", settings=archclass.BoundSettings(d=128, layers=1))
    assert large.bound["max_pairs"] == pytest.approx(4 * small.bound["max_pairs"])


def test_classify_against_a_given_registry():
    registry = registry_from_text(GOOD + HYBRID)
    result = archclass.classify("b-model", registry=registry)
    assert isinstance(result, archclass.Classification) and result.id == "beta" and result.placement == "R"


def test_classify_an_entry_built_in_python_with_registry_components():
    registry = registry_from_text(GOOD + HYBRID)
    mine = Architecture.model_validate(
        {
            "id": "mine",
            "name": "Mine",
            "year": 2025,
            "arxiv": "2501.00001",
            "family": "hybrid",
            "summary": "Mostly alpha.",
            "components": [{"arch": "Alpha", "fraction": 0.9}, {"arch": "b-model", "fraction": 0.1}],
            "evidence": "Sec. 1.",
        }
    )
    result = archclass.classify(mine, registry=registry)
    assert result.hybrid and result.placement == "R"
    assert result.position == pytest.approx((0.45, 0.45, 0.1))
    assert "mine" not in registry


def test_unknown_names_are_one_line_errors():
    with pytest.raises(archclass.UnknownArchitectureError) as error:
        archclass.classify("retnett")
    assert error.value.suggestions == ["retnet"]
    assert isinstance(error.value, archclass.ArchclassError)


def test_recall_bound_and_registry_are_exported():
    assert archclass.recall_bound(1000, 16, 1024, 1.0).max_pairs == pytest.approx(16000 / 9)
    registry = archclass.load_registry()
    assert isinstance(registry, archclass.Registry) and "retnet" in registry
    assert {"classify", "load_registry", "Registry", "Classification", "BoundSettings", "recall_bound"} <= set(
        dir(archclass)
    )
    assert set(archclass.__all__) == {"__version__", *archclass._EXPORTS}
    for name in archclass.__all__:
        assert getattr(archclass, name) is not None
    with pytest.raises(AttributeError):
        archclass.no_such_thing  # noqa: B018
