"""Bad registry input: each case must name the file, the entry and the field, and lose nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from archclass.errors import ArchclassError, RegistryError
from archclass.registry import load_registry

pytestmark = pytest.mark.registry

GOOD = """\
- id: alpha
  name: Alpha
  year: 2020
  arxiv: '2001.00001'
  family: linear-rnn
  summary: A test entry.
  inference:
    per_step_compute: O(d^2)
    state_size: O(d^2)
    retrieval: none
  evidence: Sec. 1.

- id: beta
  name: Beta
  aliases: [b-model]
  year: 2021
  arxiv: '2101.00001'
  family: full-attention
  summary: Another test entry.
  inference:
    per_step_compute: O(T d)
    state_size: O(T d)
    retrieval: exact
  evidence: Sec. 2.
"""

HYBRID = """
- id: gamma
  name: Gamma
  year: 2022
  arxiv: '2201.00001'
  family: hybrid
  summary: A hybrid.
  components: [{arch: alpha, fraction: 0.75}, {arch: beta, fraction: 0.25}]
  evidence: Sec. 3.
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RegistryError) as error:
        load_registry(write(tmp_path, text))
    return [str(issue) for issue in error.value.issues]


def test_good_registry_loads_and_looks_up_case_insensitively(tmp_path):
    registry = load_registry(write(tmp_path, GOOD + HYBRID))
    assert len(registry) == 3
    assert registry.get("B-MODEL").id == "beta"
    with pytest.raises(ArchclassError, match="did you mean 'alpha'"):
        registry.get("alpah")


def test_malformed_yaml_names_file_and_line(tmp_path):
    [message] = problems(tmp_path, GOOD.replace("  name: Alpha", "  name: [Alpha"))
    assert "registry.yaml:" in message and "malformed YAML" in message


def test_repeated_key_inside_one_entry_is_refused(tmp_path):
    [message] = problems(tmp_path, GOOD.replace("  name: Alpha\n", "  name: Alpha\n  name: Alpha2\n"))
    assert "key 'name' appears twice" in message and "registry.yaml:3" in message


def test_unknown_field_names_entry_and_field(tmp_path):
    messages = problems(tmp_path, GOOD.replace("  evidence: Sec. 1.", "  evidense: Sec. 1."))
    assert any("registry.yaml:11: entry 'alpha': field 'evidense': unknown field" in m for m in messages)
    assert any("field 'evidence'" in m and "missing" in m for m in messages)


def test_missing_required_field(tmp_path):
    text = GOOD.replace("  summary: A test entry.\n", "")
    messages = problems(tmp_path, text)
    assert any("entry 'alpha'" in m and "field 'summary'" in m and "missing" in m for m in messages)


def test_duplicate_id_and_alias(tmp_path):
    alpha = GOOD.split("\n\n")[0]
    [message] = problems(
        tmp_path, alpha + "\n\n" + alpha.replace("name: Alpha", "name: Alpha again") + "\n\n" + GOOD.split("\n\n")[1]
    )
    assert message.endswith(
        "registry.yaml:13: entry 'alpha': field 'id': id 'alpha' is already used by entry 'alpha'"
        "; names are matched ignoring case, spaces, '-', '_' and '.', so each must belong to one entry"
    )
    text = GOOD.replace("aliases: [b-model]", "aliases: [alpha]")
    [message] = problems(tmp_path, text)
    assert "registry.yaml:15: entry 'beta': field 'aliases': alias 'alpha' is already used by entry 'alpha'" in message


@pytest.mark.parametrize(
    ("replacement", "fragment"),
    [("per_step_compute: O(k d)", "undeclared symbol 'k'"), ("per_step_compute: O(T d", "must have the form")],
)
def test_bad_complexity_string(tmp_path, replacement, fragment):
    [message] = problems(tmp_path, GOOD.replace("per_step_compute: O(d^2)", replacement))
    assert "entry 'alpha'" in message and "field 'inference.per_step_compute'" in message and fragment in message
    assert "registry.yaml:8" in message


def test_hybrid_fractions_must_sum_to_one(tmp_path):
    [message] = problems(tmp_path, GOOD + HYBRID.replace("0.25", "0.5"))
    assert "entry 'gamma'" in message and "sum to 1.25" in message


def test_hybrid_unknown_component(tmp_path):
    [message] = problems(tmp_path, GOOD + HYBRID.replace("arch: beta", "arch: betta"))
    assert "'betta' is not a registry id; did you mean 'beta'" in message


def test_a_hybrid_of_hybrids_is_refused_at_the_component(tmp_path):
    zeta = HYBRID.replace("gamma", "zeta").replace("Gamma", "Zeta").replace("2201.00001", "2201.00002")
    nested = zeta.replace("arch: beta", "arch: gamma")
    [message] = problems(tmp_path, GOOD + HYBRID + nested)
    assert message.endswith(
        "registry.yaml:41: entry 'zeta': field 'components': component 'gamma' is the hybrid 'gamma'; "
        "a component must be a single layer kind, so list that hybrid's own components here instead"
    )


def test_a_cycle_of_hybrids_is_refused_as_nesting(tmp_path):
    zeta = HYBRID.replace("gamma", "zeta").replace("Gamma", "Zeta").replace("2201.00001", "2201.00002")
    messages = problems(tmp_path, GOOD + HYBRID.replace("beta", "zeta") + zeta.replace("arch: beta", "arch: gamma"))
    assert sum("is the hybrid" in m for m in messages) == 2
    selfish = problems(tmp_path, GOOD + HYBRID.replace("arch: beta", "arch: gamma"))
    assert any("component 'gamma' is itself" in m for m in selfish)


def test_efficient_compact_recall_claim_is_rejected_with_the_bound(tmp_path):
    [message] = problems(tmp_path, GOOD.replace("    retrieval: none", "    retrieval: exact", 1))
    assert "entry 'alpha'" in message and "field 'inference.retrieval'" in message
    assert "E and C imply not R" in message and "K <= n*p/(A*log2 V - 1)" in message and "pairs" in message


def test_explicit_recall_claim_on_efficient_compact_model_is_rejected(tmp_path):
    [message] = problems(tmp_path, GOOD.replace("    retrieval: none", "    retrieval: none\n    claims: [recall]", 1))
    assert "claims recall" in message


def test_unquoted_arxiv_id_is_refused(tmp_path):
    [message] = problems(tmp_path, GOOD.replace("arxiv: '2001.00001'", "arxiv: 2001.10000"))
    assert "field 'arxiv'" in message and "quoted string" in message


def test_alias_bomb_is_refused_quickly(tmp_path):
    # Each level repeats the previous one five times: 5^20 leaves if expanded.
    levels = ["a: &a [x, x, x, x, x]"]
    for i in range(1, 21):
        previous = f"*{chr(96 + i)}"
        levels.append(f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join([previous] * 5)}]")
    bomb = "\n".join(levels) + "\n"
    start = time.perf_counter()
    [message] = problems(tmp_path, bomb)
    assert time.perf_counter() - start < 5
    assert "aliases" in message and "not allowed" in message


def test_several_megabyte_file_neither_hangs_nor_explodes(tmp_path):
    entries = "\n".join(
        GOOD.split("\n\n")[0].replace("alpha", f"e{i:06d}").replace("Alpha", f"E{i}") for i in range(12000)
    )
    path = write(tmp_path, entries)
    assert path.stat().st_size > 2_000_000
    start = time.perf_counter()
    registry = load_registry(path)
    assert len(registry) == 12000
    assert time.perf_counter() - start < 60


def test_oversized_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    with pytest.raises(RegistryError) as error:
        load_registry(path)
    assert "larger than the 16 MiB limit" in str(error.value)


def test_not_a_list(tmp_path):
    [message] = problems(tmp_path, "id: alpha\n")
    assert "must be a YAML list" in message


def test_unsorted_registry_points_to_fmt(tmp_path):
    first, second = GOOD.split("\n\n")
    messages = problems(tmp_path, second + "\n\n" + first)
    assert any("not sorted" in m and "archclass fmt" in m for m in messages)


@pytest.fixture
def leaf_classifications(monkeypatch):
    """The ids of the entries classified from their scaling, in order, however the registry gets there."""
    from archclass import classifier

    calls: list[str] = []
    original = classifier.classify_leaf

    def counting(entry, *args, **kwargs):
        calls.append(entry.id)
        return original(entry, *args, **kwargs)

    monkeypatch.setattr(classifier, "classify_leaf", counting)
    return calls


def test_looking_up_one_entry_classifies_only_that_entry(tmp_path, leaf_classifications):
    registry = load_registry(write(tmp_path, GOOD + HYBRID), full_check=False)
    assert leaf_classifications == []
    assert registry.classification("alpha").placement == "EC"
    assert leaf_classifications == ["alpha"]
    assert registry.classification("gamma").hybrid
    assert leaf_classifications == ["alpha", "beta"]  # alpha's result is reused for the hybrid


def test_the_real_registry_classifies_retnet_alone(leaf_classifications):
    registry = load_registry(full_check=False)
    assert registry.classification("retnet").placement == "EC"
    assert leaf_classifications == ["retnet"]


def test_a_full_check_classifies_each_entry_once_and_lookups_reuse_it(leaf_classifications):
    from archclass.classifier import BoundSettings
    from archclass.registry import registry_from_text

    registry = registry_from_text(GOOD + HYBRID)
    assert sorted(leaf_classifications) == ["alpha", "beta"]
    first = [registry.classification(entry.id) for entry in registry]
    assert all(registry.classification(entry.id) is result for entry, result in zip(registry, first, strict=True))
    assert sorted(leaf_classifications) == ["alpha", "beta"]
    narrow = registry.classification("alpha", BoundSettings(d=64))
    assert registry.classification("alpha", BoundSettings(d=64)) is narrow
    assert leaf_classifications.count("alpha") == 2


def test_a_lazy_load_refuses_a_theorem_violation_when_that_entry_is_classified(tmp_path):
    path = write(tmp_path, GOOD.replace("    retrieval: none", "    retrieval: exact", 1) + HYBRID)
    registry = load_registry(path, full_check=False)
    assert registry.classification("beta").placement == "R"
    with pytest.raises(RegistryError) as error:
        registry.classification("alpha")
    assert str(error.value).startswith(f"{path}:10: entry 'alpha': field 'inference.retrieval': ")
    with pytest.raises(RegistryError, match="E and C imply not R"):
        registry.classification("gamma")  # through its component
    with pytest.raises(RegistryError, match="E and C imply not R"):
        load_registry(path)


def test_complexity_strings_are_parsed_once():
    from archclass.complexity import parse

    assert parse("O(w d)", ["w"]) is parse("O(w d)", ("w",))


WINDOWED = GOOD.replace("per_step_compute: O(d^2)", "per_step_compute: O(w d)").replace(
    "  evidence: Sec. 1.\n", "  hyperparameters: {w: window, u: unused}\n  RECIPE\n  evidence: Sec. 1.\n", 1
)


@pytest.mark.parametrize(
    ("recipe", "field", "fragment"),
    [
        ("{x: sqrt(T)}", "recipe.x", "'x' is not a declared hyperparameter"),
        ("{w: sqrt(T}", "recipe.w", "not a valid expression"),
        ("{w: 2*d}", "recipe.w", "does not grow with T"),
        ("{u: sqrt(T)}", "recipe.u", "'u' appears in no complexity string"),
        ("{w: sqrt(T), u: w}", "recipe.u", "undeclared symbol 'w'"),
        ("{w: 'O(T)'}", "recipe.w", "without O(...)"),
    ],
)
def test_a_bad_recipe_is_a_located_error(tmp_path, recipe, field, fragment):
    [message] = problems(tmp_path, WINDOWED.replace("RECIPE", f"recipe: {recipe}"))
    assert f"registry.yaml:12: entry 'alpha': field '{field}': " in message and fragment in message


def test_a_hybrid_has_no_recipe_of_its_own(tmp_path):
    text = GOOD + HYBRID.replace("  evidence: Sec. 3.", "  recipe: {w: sqrt(T)}\n  evidence: Sec. 3.")
    [message] = problems(tmp_path, text)
    assert "entry 'gamma': field 'recipe': a hybrid takes its recipe reading from its components" in message
