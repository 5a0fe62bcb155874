"""Generated files are written with their folder, and a stale or missing copy is refused naming the fix."""

from __future__ import annotations

import pytest

from archclass.errors import ArchclassError
from archclass.generated import check_generated, is_current, write_generated


def test_written_into_new_folders_then_current(tmp_path):
    path = tmp_path / "a" / "b" / "schema.json"
    write_generated(path, "{}\n")
    assert path.read_text(encoding="utf-8") == "{}\n" and is_current(path, "{}\n")
    check_generated(path, "{}\n", "archclass schema -o x")  # no error


def test_a_stale_or_missing_or_binary_file_is_refused_with_the_command_that_fixes_it(tmp_path):
    stale = tmp_path / "schema.json"
    stale.write_text("old\n", encoding="utf-8")
    with pytest.raises(ArchclassError, match=r"schema.json is out of date; run 'archclass schema -o x'"):
        check_generated(stale, "new\n", "archclass schema -o x")
    assert not is_current(tmp_path / "missing.json", "") and not is_current(tmp_path, "")
    binary = tmp_path / "figure.png"
    binary.write_bytes(b"\xff\xfe\x00")
    assert not is_current(binary, "x")


def test_an_unwritable_place_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ArchclassError, match="^cannot write .*file/out.json: "):
        write_generated(blocker / "out.json", "x")
