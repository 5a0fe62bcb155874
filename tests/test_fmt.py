"""fmt rewrites the registry canonically, keeps every comment, and refuses what it cannot read safely."""

from __future__ import annotations

import time

import pytest

from archclass import fmt
from archclass.errors import RegistryError

from .conftest import REGISTRY
from .test_registry import GOOD

FIRST, SECOND = GOOD.split("\n\n")
HEADER = "# yaml-language-server: $schema=../taxonomy/architecture.schema.json\n#\n# The registry.\n"


def one_line_error(call, *args):
    with pytest.raises(RegistryError) as error:
        call(*args)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_canonical_form_sorts_entries_and_orders_keys():
    shuffled = (
        HEADER
        + "\n"
        + SECOND
        + "\n\n"
        + FIRST.replace("  year: 2020\n", "").replace(
            "  summary: A test entry.\n", "  summary: A test entry.\n  year: 2020\n"
        )
    )
    formatted = fmt.format_text(shuffled)
    assert formatted.startswith(HEADER + "\n- id: alpha\n  name: Alpha\n  year: 2020\n")
    assert formatted.index("id: alpha") < formatted.index("id: beta")
    assert fmt.format_text(formatted) == formatted


def test_the_real_registry_is_canonical():
    text = REGISTRY.read_text(encoding="utf-8")
    assert fmt.format_text(text, str(REGISTRY)) == text


def test_a_byte_order_mark_is_dropped_and_the_header_kept(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_bytes(("\ufeff" + HEADER + "\n" + GOOD).encode("utf-8"))
    assert fmt.check(path) is not None  # not canonical while the mark is there
    assert fmt.rewrite(path)
    data = path.read_bytes()
    assert data.startswith(HEADER.encode("utf-8")) and data.decode("utf-8") == HEADER + "\n" + GOOD
    assert fmt.check(path) is None and not fmt.rewrite(path)


def test_comments_anywhere_survive_sorting():
    text = (
        HEADER
        + "\n"
        + SECOND.replace("  name: Beta", "  name: Beta  # the second")
        + "\n\n# about alpha\n"
        + FIRST.replace("    retrieval: none", "    # why none\n    retrieval: none")
        + "\n# at the end\n"
    )
    formatted = fmt.format_text(text)
    for comment in ("# the second", "# about alpha", "# why none", "# at the end", HEADER):
        assert comment in formatted
    assert formatted.index("id: alpha") < formatted.index("id: beta")


def test_a_comment_the_rewrite_would_lose_is_refused_not_dropped():
    text = FIRST.replace("  family: linear-rnn", "  family: linear-rnn\n  aliases: [a1, # why a1\n    a2]")
    message = one_line_error(fmt.format_text, text, "r.yaml")
    assert message.startswith("r.yaml:6: ") and "would drop the comment '# why a1'" in message


def test_comments_are_found_outside_quotes_and_block_scalars():
    text = "# a\n- id: x  # b\n  s: 'it''s # no'\n  d: |\n    # no\n  e: the 'best # c\n"
    assert sorted(comments for comments, _ in fmt.comments(text)) == ["a", "b", "c"]


def test_non_utf8_input_is_a_located_error(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_bytes(GOOD.encode("utf-8") + b"- id: caf\xe9\n")
    message = one_line_error(fmt.check, path)
    assert message.startswith(f"{path}:25: ") and "not UTF-8" in message


def test_deep_nesting_is_refused_before_parsing():
    start = time.perf_counter()
    message = one_line_error(fmt.format_text, "- " + "[" * 100_000 + "]" * 100_000 + "\n", "r.yaml")
    assert "nested more than 32 levels" in message and time.perf_counter() - start < 5


def test_a_directory_is_refused(tmp_path):
    assert "a directory" in one_line_error(fmt.check, tmp_path)


def test_a_large_file_is_refused_quickly(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(GOOD * (fmt.MAX_BYTES // len(GOOD) + 1), encoding="utf-8")
    start = time.perf_counter()
    message = one_line_error(fmt.rewrite, path)
    assert "larger than the 2 MiB" in message and time.perf_counter() - start < 5


def test_aliases_and_repeated_keys_are_refused_like_validate():
    assert "anchors and aliases" in one_line_error(fmt.format_text, "- &a {id: x}\n- *a\n")
    assert "appears twice" in one_line_error(fmt.format_text, FIRST + "\n  id: again\n")


def test_numbers_are_kept_exactly_as_written():
    # Found by the fuzz test: ruamel re-rendered 2.943780850162192e-224 as ...191e-224.
    text = FIRST.replace(
        "  year: 2020\n", "  year: 2020\n  x: [0o17, 1_000, 0x1F, .nan, 1e3, 2.943780850162192e-224]\n"
    )
    formatted = fmt.format_text(text)
    assert "x: [0o17, 1_000, 0x1F, .nan, 1e3, 2.943780850162192e-224]" in formatted
    assert fmt.format_text(formatted) == formatted


def test_an_id_that_is_a_number_is_refused():
    assert "has no string 'id'" in one_line_error(fmt.format_text, FIRST.replace("id: alpha", "id: 2020"))
