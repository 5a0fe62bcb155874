"""archclass.scaffold: a new entry's text, its sorted place, and nothing written unless it validates."""

from __future__ import annotations

import pytest

from archclass.errors import ArchclassError, RegistryError
from archclass.keyvalue import KeyValueError
from archclass.registry import load_registry
from archclass.scaffold import NewEntry, add_entry, entry_text, insert_sorted, parse_components, parse_hyperparameters

from .test_registry import GOOD

LEAF = NewEntry(
    id="delta",
    name="Delta",
    year=2024,
    arxiv="2401.01230",
    family="linear-rnn",
    summary="A test RNN.",
    evidence="Sec. 2.",
    aliases=["d-net"],
    compute="O(d n)",
    state="O(d n)",
    retrieval="none",
    hyperparameters={"n": ("state size", 16)},
)


def test_leaf_entry_text_is_canonical_yaml():
    text = entry_text(LEAF)
    assert text.startswith("- id: delta\n  name: Delta\n  aliases: [d-net]\n  year: 2024\n  arxiv: '2401.01230'\n")
    assert "  inference:\n    per_step_compute: O(d n)\n" in text and "    precision: fixed\n" in text
    assert "  hyperparameters:\n    n: {meaning: state size, value: 16}\n" in text


def test_hybrid_entry_has_components_instead_of_inference():
    hybrid = NewEntry(
        id="mix",
        name="Mix",
        year=2024,
        arxiv="2401.00002",
        family="hybrid",
        summary="A hybrid.",
        evidence="Fig. 1.",
        components=parse_components(["alpha=0.875", "beta=0.125"]),
    )
    text = entry_text(hybrid)
    assert "  components: [{arch: alpha, fraction: 0.875}, {arch: beta, fraction: 0.125}]\n" in text
    assert "inference" not in text


def test_hyperparameters_and_components_parse_or_name_their_option():
    assert parse_hyperparameters(["w=window size:4096", "k=top-k: keys kept", "h=heads:0.5"]) == {
        "w": ("window size", 4096),
        "k": ("top-k: keys kept", None),
        "h": ("heads", 0.5),
    }
    with pytest.raises(KeyValueError) as error:
        parse_components(["mamba=most"])
    assert error.value.option == "--component"


def test_insert_sorted_touches_nothing_else():
    text = "# header\n\n" + GOOD
    updated = insert_sorted(text, "- id: b\n  name: B\n", "b")
    assert updated.index("- id: alpha") < updated.index("- id: b") < updated.index("- id: beta")
    assert updated.replace("- id: b\n  name: B\n\n", "") == text
    with pytest.raises(ArchclassError, match="already exists"):
        insert_sorted(text, "- id: alpha\n", "alpha")


def test_add_entry_writes_a_registry_that_loads(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    assert add_entry(path, LEAF) == 3
    assert load_registry(path).get("d-net").id == "delta"


def test_add_entry_that_would_not_validate_writes_nothing(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    bad = NewEntry(**{**LEAF.__dict__, "compute": "O(d k)"})
    with pytest.raises(RegistryError) as error:
        add_entry(path, bad)
    assert "undeclared symbol 'k'" in str(error.value)
    assert path.read_text() == GOOD and not (tmp_path / "r.yaml.tmp").exists()
