"""The real registry: it validates, names are unique, every family the project promises is covered."""

from __future__ import annotations

from collections import Counter

import pytest

from archclass.classifier import classify_entry
from archclass.registry import load_registry

from .conftest import REGISTRY

pytestmark = pytest.mark.registry

REQUIRED = {
    "full attention and cache-shrinking": [
        "transformer",
        "mqa",
        "gqa",
        "mla",
        "differential-transformer",
        "forgetting-transformer",
        "path-attention",
    ],
    "sparse and efficient attention": [
        "sparse-transformer",
        "longformer",
        "bigbird",
        "reformer",
        "routing-transformer",
        "linformer",
        "performer",
        "linear-transformer",
        "cosformer",
        "sliding-window-attention",
        "streamingllm",
        "h2o",
        "snapkv",
        "native-sparse-attention",
        "moba",
        "deepseek-sparse-attention",
        "landmark-attention",
        "memorizing-transformers",
        "unlimiformer",
    ],
    "recurrence-augmented transformers": [
        "transformer-xl",
        "compressive-transformer",
        "recurrent-memory-transformer",
        "block-recurrent-transformer",
        "infini-attention",
        "titans",
    ],
    "state space models": ["s4", "s4d", "dss", "s5", "h3", "liquid-s4", "mega", "mamba", "mamba-2"],
    "long convolutions": ["hyena", "monarch-mixer", "hyena-distilled"],
    "linear RNNs and linear attention": [
        "retnet",
        "rwkv-4",
        "rwkv-5",
        "rwkv-6",
        "rwkv-7",
        "gla",
        "hgrn",
        "hgrn2",
        "deltanet",
        "gated-deltanet",
        "mlstm",
        "lru",
        "hawk",
        "mingru",
        "minlstm",
        "based",
        "rebased",
        "hedgehog",
        "ttt-linear",
        "longhorn",
        "lightning-attention",
        "kimi-delta-attention",
        "mesanet",
        "log-linear-attention",
    ],
    "classic RNNs and theory": ["lstm", "gru", "unbounded-precision-rnn"],
    "hybrids": [
        "jamba",
        "zamba",
        "samba",
        "griffin",
        "recurrentgemma",
        "hymba",
        "nemotron-h",
        "minimax-01",
        "qwen3-next",
        "kimi-linear",
        "stripedhyena",
    ],
}


@pytest.fixture(scope="module")
def registry():
    return load_registry(REGISTRY)


def test_registry_validates_and_is_large_enough(registry):
    assert len(registry) >= 75


@pytest.mark.parametrize("group", sorted(REQUIRED))
def test_every_promised_architecture_is_present(registry, group):
    missing = [arch for arch in REQUIRED[group] if arch not in registry]
    assert not missing, f"{group}: missing {missing}"


def test_ids_and_aliases_are_unique_case_insensitively(registry):
    names = Counter(name.casefold() for entry in registry for name in (entry.id, *entry.aliases))
    assert [name for name, count in names.items() if count > 1] == []


def test_every_family_is_populated_and_every_entry_is_cited(registry):
    from archclass.schema import FAMILIES

    assert {entry.family for entry in registry} == set(FAMILIES)
    for entry in registry:
        assert entry.arxiv or entry.url, entry.id
        assert len(entry.evidence) > 40, entry.id


def test_every_entry_classifies_with_an_explanation(registry):
    for entry in registry:
        result = classify_entry(entry, registry)
        assert len(result.rules) == 3 and all(f.explanation for f in result.rules), entry.id


def test_the_papers_after_march_2026_are_covered(registry):
    assert sum(entry.year == 2026 for entry in registry) >= 5
