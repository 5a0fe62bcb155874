"""The entry schema bounds and cleans every text field before anything stores or prints it."""

from __future__ import annotations

import time

import pytest

from archclass.errors import RegistryError
from archclass.registry import registry_from_text
from archclass.schema import json_schema

from .test_registry import GOOD


def messages(text: str) -> list[str]:
    start = time.perf_counter()
    with pytest.raises(RegistryError) as error:
        registry_from_text(text, "r.yaml")
    assert time.perf_counter() - start < 10
    found = [str(issue) for issue in error.value.issues]
    assert all(m.isprintable() for m in found), found
    return found


def test_every_text_field_has_a_length_limit():
    unbounded: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and "enum" not in node and "maxLength" not in node:
                unbounded.append(where)
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(json_schema(), "schema")
    assert unbounded == []


def test_a_megabyte_id_is_refused_quickly():
    [message] = messages(GOOD.replace("- id: alpha", "- id: " + "a" * 1_000_000, 1))
    assert "field 'id': String should have at most 64 characters" in message
    assert len(message) < 300


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("summary", r'"A test\0entry."'),
        ("summary", r'"A test\eentry."'),
        ("evidence", r'"Sec.\u202e 1."'),
        ("name", r'"Al\npha"'),
        ("name", r'"Al\u200bpha"'),
    ],
)
def test_control_and_invisible_characters_are_refused(field, value):
    text = GOOD.replace(f"  {field}: ", f"  {field}: {value}\n  _old_{field}: ", 1)
    text = "\n".join(line for line in text.splitlines() if f"_old_{field}" not in line) + "\n"
    found = messages(text)
    assert any(f"field '{field}'" in m and "invisible or control character" in m for m in found), found


@pytest.mark.parametrize(
    ("alias", "fragment"),
    [
        (r'"re\etnet"', "control character U+001B"),
        (r'"re\0tnet"', "control character U+0000"),
        (r'"ret\nnet"', "control character U+000A"),
        (r'"ret\u200bnet"', "control character U+200B"),
        ('"m\u0430mba"', "mixes letters of several scripts (cyrillic, latin)"),
        ('"---"', "needs at least one letter or digit"),
    ],
)
def test_aliases_are_printable_and_in_one_script(alias, fragment):
    [message] = messages(GOOD.replace("aliases: [b-model]", f"aliases: [b-model, {alias}]"))
    assert message.startswith("r.yaml:15: entry 'beta': field 'aliases.1': ") and fragment in message


def test_an_alias_in_another_script_alone_is_accepted():
    registry = registry_from_text(GOOD.replace("aliases: [b-model]", 'aliases: [b-model, "Бета"]'))
    assert registry.get("бета").id == "beta"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(".nan", "finite number"), (".inf", "finite number"), ("-4", "greater than 0"), ("0", "greater than 0")],
)
def test_hyperparameter_values_must_be_finite_and_positive(value, fragment):
    hyperparameters = f"  hyperparameters:\n    c: {{meaning: chunks, value: {value}}}\n"
    text = GOOD.replace("per_step_compute: O(d^2)", "per_step_compute: O(d^2/c)", 1)
    text = text.replace("  evidence: Sec. 1.", hyperparameters + "  evidence: Sec. 1.", 1)
    [message] = messages(text)
    assert "entry 'alpha': field 'hyperparameters.c.value'" in message and fragment in message


def test_a_hostile_id_cannot_forge_or_colour_a_message():
    forged = GOOD.replace("- id: alpha", "- id: \"alpha\\nr.yaml:1: entry 'beta': forged\\e[31m\"", 1)
    found = messages(forged)
    assert all("\n" not in m and "\x1b" not in m for m in found)
    assert any("\\n" in m and "\\x1b" in m for m in found)


def test_the_exported_schema_is_draft_07_and_the_registry_passes_it_with_its_patterns():
    """Editors' yaml-language-server supports draft-07 fully; the patterns catch common typos as people type."""
    jsonschema = pytest.importorskip("jsonschema", reason="needs jsonschema to check the exported schema")
    import yaml

    from archclass.paths import registry_path
    from archclass.schema import json_schema

    schema = json_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#" and "$defs" not in str(schema)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    data = yaml.safe_load(registry_path().read_text(encoding="utf-8"))
    assert not list(validator.iter_errors(data))
    broken = [{**data[0], "id": "Bad Id", "arxiv": "arXiv:2405.13956"}]
    messages = " ".join(error.message for error in validator.iter_errors(broken))
    assert "does not match" in messages
