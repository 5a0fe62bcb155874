"""The guarded YAML reader: only regular files of bounded size, no aliases, no repeats, bounded depth."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from archclass.yamlio import MAX_BYTES, MAX_DEPTH, YamlError, load_file, load_text, read_text

from .test_registry import GOOD


def refused(call, *args) -> YamlError:
    start = time.perf_counter()
    with pytest.raises(YamlError) as error:
        call(*args)
    assert time.perf_counter() - start < 5
    assert "\n" not in str(error.value)
    return error.value


def test_entries_and_fields_keep_their_lines():
    loaded = load_text(GOOD)
    assert loaded.entry_lines == [1, 13]
    assert loaded.field_lines[0]["inference.retrieval"] == 10
    assert loaded.field_lines[1]["aliases"] == 15


def test_repeated_keys_and_aliases_are_refused_with_their_line():
    error = refused(load_text, GOOD.replace("  year: 2021\n", "  year: 2021\n  year: 2022\n"))
    assert "key 'year' appears twice" in str(error) and error.line == 17
    error = refused(load_text, "- &x {id: a}\n- *x\n")
    assert "anchors and aliases" in str(error) and error.line == 2


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deep_nesting_is_refused_before_the_recursive_composer_sees_it(depth):
    # At 100,000 levels libyaml's composer used to crash the interpreter with a segmentation fault.
    error = refused(load_text, "[" * depth + "]" * depth)
    assert f"nested more than {MAX_DEPTH} levels" in str(error) and error.line == 1


def test_nesting_up_to_the_limit_is_fine():
    assert load_text("[" * MAX_DEPTH + "]" * MAX_DEPTH).data is not None


def test_a_byte_order_mark_is_dropped(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert read_text(path) == GOOD
    assert load_file(path).entry_lines == [1, 13]


def test_text_that_is_not_utf8_is_located(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_bytes(b"- id: a\n  name: \xff\n")
    error = refused(read_text, path)
    assert "not UTF-8" in str(error) and error.line == 2


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    outcome: list[object] = []
    reader = threading.Thread(target=lambda: outcome.append(_attempt(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():  # free the blocked reader so the test run can finish
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert "not a regular file" in str(outcome[0])


def _attempt(path: Path) -> object:
    try:
        return read_text(path)
    except YamlError as error:
        return error


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_refused_before_reading():
    assert "not a regular file" in str(refused(read_text, Path("/dev/zero")))


def test_a_directory_and_a_missing_file_are_refused(tmp_path):
    assert "a directory" in str(refused(read_text, tmp_path))
    assert "No such file" in str(refused(read_text, tmp_path / "absent.yaml"))


def test_size_is_capped_for_files_and_text(tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    assert "larger than the 16 MiB limit" in str(refused(read_text, path))
    assert "larger than the 16 MiB limit" in str(refused(load_text, "#" * (MAX_BYTES + 1)))
