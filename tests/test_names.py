"""Names as people write them find their entry; unknown names get honest hints."""

from __future__ import annotations

import pytest

from archclass.errors import RegistryError
from archclass.names import normalise
from archclass.registry import UnknownArchitectureError, load_registry, registry_from_text

from .test_registry import GOOD, HYBRID

WITH_MODEL_TYPES = GOOD.replace(
    "  evidence: Sec. 1.\n", "  evidence: Sec. 1.\n  implementations: {transformers: [alpha_lm], fla: [alpha.fla]}\n"
)


@pytest.fixture(scope="module")
def real():
    return load_registry(full_check=False)


def test_normalise_ignores_case_spaces_underscores_hyphens_and_dots():
    assert normalise("Retentive Network") == normalise("retentive-network") == "retentivenetwork"
    assert normalise("qwen3_next") == normalise("Qwen3-Next") == normalise("QWEN3.NEXT")
    assert normalise("ｍａｍｂａ") == "mamba"  # full-width letters fold to ASCII


@pytest.mark.parametrize(
    ("typed", "entry"),
    [
        ("Retentive Network", "retnet"),
        ("Gated DeltaNet", "gated-deltanet"),
        ("Kimi Linear", "kimi-linear"),
        ("mamba 2", "mamba-2"),
        ("qwen3_next", "qwen3-next"),
        ("falcon_h1", "falcon-h1"),
        ("nemotron_h", "nemotron-h"),
        ("recurrent_gemma", "recurrentgemma"),
    ],
)
def test_names_from_the_issue_find_their_entry(real, typed, entry):
    assert real.get(typed).id == entry
    assert typed in real


def test_a_model_named_by_its_transformers_type_and_a_version_is_pointed_at_that_type(real):
    # 'llama' is a transformers model type the registry maps to grouped-query attention.
    with pytest.raises(UnknownArchitectureError) as error:
        real.get("llama-3")
    assert error.value.suggestions == ["gqa"]


@pytest.mark.parametrize("typed", ["gpt-4", "claude-3"])
def test_models_outside_the_registry_get_no_misleading_hint(real, typed):
    with pytest.raises(UnknownArchitectureError) as error:
        real.get(typed)
    assert error.value.suggestions == []
    assert str(error.value) == f"unknown architecture '{typed}'; 'archclass list' shows them all"


def test_close_names_are_suggested_and_same_letters_come_first(real):
    with pytest.raises(UnknownArchitectureError) as error:
        real.get("retnett")
    assert error.value.suggestions == ["retnet"]
    with pytest.raises(UnknownArchitectureError) as error:
        real.get("jamba 1.5")
    assert error.value.suggestions == ["jamba"]  # not mamba or zamba, one letter away


def test_implementation_model_types_are_names_too():
    registry = registry_from_text(WITH_MODEL_TYPES)
    assert registry.get("alpha_lm").id == "alpha"
    assert registry.get("Alpha LM").id == "alpha"
    assert registry.get("alpha-fla").id == "alpha"


def test_hybrid_components_accept_any_name_and_store_the_id():
    registry = registry_from_text(
        GOOD + HYBRID.replace("arch: alpha", "arch: ALPHA").replace("arch: beta", "arch: B Model")
    )
    gamma = registry.get("gamma")
    assert [c.arch for c in gamma.components] == ["alpha", "beta"]
    assert registry.classification("gamma").position == pytest.approx((0.375, 0.375, 0.25))


def test_a_name_two_entries_answer_to_is_a_located_error():
    with pytest.raises(RegistryError) as error:
        registry_from_text(GOOD.replace("aliases: [b-model]", "aliases: [b-model, 'ALPHA']"), "r.yaml")
    [issue] = error.value.issues
    assert str(issue).startswith("r.yaml:15: entry 'beta': field 'aliases': alias 'ALPHA' is already used by entry")
    clash = WITH_MODEL_TYPES.replace("aliases: [b-model]", "aliases: [b-model]\n  implementations: {fla: [Alpha_LM]}")
    with pytest.raises(RegistryError) as error:
        registry_from_text(clash, "r.yaml")
    [issue] = error.value.issues
    assert "entry 'beta': field 'implementations.fla': model type 'Alpha_LM' is already used by entry 'alpha'" in str(
        issue
    )


def test_names_of_one_entry_may_coincide():
    registry = registry_from_text(GOOD.replace("aliases: [b-model]", "aliases: [b-model, B_Model, Beta]"))
    assert registry.get("bmodel").id == "beta"
