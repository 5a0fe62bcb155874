"""Property-based fuzzing of the loader, the formatter and the complexity parser.

Whatever the input, the outcome is either accepted or an ArchclassError whose message is one
printable line naming the file, and it comes quickly. By default examples are few, small and the
same every run, so the file takes seconds and cannot flake; ``ARCHCLASS_FUZZ=long`` explores
thousands of random ones.
"""

from __future__ import annotations

import math
import os
import time
from datetime import timedelta

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archclass import fmt
from archclass.complexity import ComplexityError, parse, parse_formula
from archclass.errors import RegistryError
from archclass.registry import registry_from_text

# The default profile is small and deterministic, for every test run; ARCHCLASS_FUZZ=long explores.
settings.register_profile(
    "quick",
    max_examples=80,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.register_profile("long", max_examples=3000, deadline=timedelta(seconds=5), derandomize=False)
FAST = settings.get_profile(os.environ.get("ARCHCLASS_FUZZ", "quick"))

# ---------------------------------------------------------------------------- complexity strings

ATOMS = st.sampled_from(["T", "d", "w", "k", "2", "1/2", "64", "1e3", "log(T)", "sqrt(T)", "h", "0", "1e400"])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "^", "**", " "]), children).map(
        lambda t: f"{t[0]}{t[1]}{t[2]}"
    )
    calls = st.tuples(
        st.sampled_from(["log", "sqrt", "min", "max", "exp", ""]), st.lists(children, min_size=1, max_size=3)
    )
    return st.one_of(binary, calls.map(lambda t: f"{t[0]}({', '.join(t[1])})"), children.map(lambda c: f"({c})"))


EXPRESSIONS = st.recursive(ATOMS, _combine, max_leaves=12)
NOISE = st.text(alphabet=st.sampled_from(list("()^*+-/,. _Td0123456789eO\x00\x1b\n\u200bаπ'\"#")), max_size=4)


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    """A string from the grammar, maybe with a few characters deleted, inserted or replaced."""
    text = f"O({draw(EXPRESSIONS)})"
    for _ in range(draw(st.integers(0, 3))):
        if not text:
            break
        position = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 2))
        text = text[:position] + draw(NOISE) + text[position + cut :]
    return text


def _outcome_of_parse(text: str) -> None:
    start = time.perf_counter()
    try:
        parsed = parse(text, ["w", "k"])
    except ComplexityError as error:
        message = str(error)
        assert message.isprintable() and "\n" not in message, message
    else:
        assert parsed.growth.growth_class is not None
        values = {"T": 2.0**20, "d": 4096.0, "w": 64.0, "k": 8.0}
        try:
            assert math.isfinite(parsed.evaluate(values))
        except ComplexityError as error:
            assert str(error).isprintable()
    assert time.perf_counter() - start < 1


@FAST
@given(near_misses())
def test_complexity_strings_and_near_misses_parse_or_fail_cleanly(text):
    _outcome_of_parse(text)


@FAST
@given(st.text(max_size=240))
def test_any_text_parses_or_fails_cleanly(text):
    _outcome_of_parse(text)
    try:
        parse_formula(text, ["w"])
    except ComplexityError as error:
        assert str(error).isprintable()


# ---------------------------------------------------------------------------- registry files

VALID = {
    "id": "alpha",
    "name": "Alpha",
    "aliases": ["a-model"],
    "year": 2020,
    "arxiv": "2001.00001",
    "family": "linear-rnn",
    "summary": "A test entry.",
    "inference": {"per_step_compute": "O(w d)", "state_size": "O(w d)", "retrieval": "none"},
    "hyperparameters": {"w": {"meaning": "window", "value": 64}},
    "evidence": "Sec. 1.",
}
HYBRID = {
    "id": "gamma",
    "name": "Gamma",
    "year": 2022,
    "arxiv": "2201.00001",
    "family": "hybrid",
    "summary": "A hybrid.",
    "components": [{"arch": "alpha", "fraction": 0.5}, {"arch": "a model", "fraction": 0.5}],
    "evidence": "Sec. 3.",
}
FIELDS = sorted({*VALID, *HYBRID, "recipe", "tags", "implementations", "setting", "notes", "url", "confidence"})

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["O(T d)", "O(d^2)", "sqrt(T)", "hybrid", "alpha", "exact", "none", "2001.00001", "\x1b[31m"]),
)
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), children, max_size=5),
    ),
    max_leaves=25,
)


@st.composite
def mutated_entries(draw: st.DrawFn) -> list[object]:
    """The valid entries with a few fields replaced, removed or added."""
    entries: list[object] = []
    for base in (VALID, HYBRID):
        entry: dict[str, object] = dict(base)
        for _ in range(draw(st.integers(0, 3))):
            field = draw(st.sampled_from(FIELDS))
            if draw(st.booleans()):
                entry[field] = draw(TREES)
            else:
                entry.pop(field, None)
        entries.append(entry)
    return entries


def _dump(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=4096)


def _outcome_of_loading(text: str) -> None:
    start = time.perf_counter()
    try:
        registry = registry_from_text(text, "fuzz.yaml")
    except RegistryError as error:
        assert error.issues
        for issue in error.issues:
            message = str(issue)
            assert message.isprintable(), message
            assert message.startswith("fuzz.yaml"), message
    else:
        for result in registry.classifications():
            assert result.placement
    assert time.perf_counter() - start < 5


@FAST
@given(mutated_entries())
def test_mutated_entries_load_or_give_located_one_line_errors(entries):
    _outcome_of_loading(_dump(entries))


@FAST
@given(TREES)
def test_random_yaml_trees_load_or_give_located_one_line_errors(tree):
    _outcome_of_loading(_dump(tree))


@FAST
@given(st.text(max_size=300))
def test_random_text_loads_or_gives_located_one_line_errors(text):
    _outcome_of_loading(text)


@settings(FAST, max_examples=max(20, FAST.max_examples // 4))
@given(st.one_of(mutated_entries().map(_dump), TREES.map(_dump), st.text(max_size=200)))
def test_fmt_rewrites_or_refuses_with_one_line(text):
    start = time.perf_counter()
    try:
        formatted = fmt.format_text(text, "fuzz.yaml")
    except RegistryError as error:
        assert str(error).isprintable() and str(error).startswith("fuzz.yaml")
    else:
        assert fmt.format_text(formatted, "fuzz.yaml") == formatted
    assert time.perf_counter() - start < 5
