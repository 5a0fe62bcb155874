"""Every error reaches the user as one printable line."""

from __future__ import annotations

from archclass.errors import ArchclassError, Issue, RegistryError, printable


def test_printable_escapes_controls_invisibles_and_odd_spaces_only():
    assert printable("plain text, é ∞ Бета") == "plain text, é ∞ Бета"
    assert (
        printable("a\x1b[31mb\nc\u200bd\u202ee\xa0f\U000e0001") == "a\\x1b[31mb\\nc\\u200bd\\u202ee\\u00a0f\\U000e0001"
    )


def test_issues_escape_whatever_reaches_them():
    issue = Issue("r\x1b.yaml", "bad\nthing", 3, "'a\u202eb'", "f\x00")
    assert str(issue) == "r\\x1b.yaml:3: entry 'a\\u202eb': field 'f\\x00': bad\\nthing"
    assert str(Issue("r.yaml", "whole file")) == "r.yaml: whole file"


def test_registry_error_shows_the_first_issue_and_counts_the_rest():
    issues = [Issue("r.yaml", "first", 1), Issue("r.yaml", "second", 2), Issue("r.yaml", "third", 3)]
    error = RegistryError(issues)
    assert str(error) == "r.yaml:1: first (and 2 more; run 'archclass validate' to see all)"
    assert error.issues == issues and isinstance(error, ArchclassError)


def test_any_archclass_error_is_one_line():
    assert str(ArchclassError("unknown 'x\ny'")) == "unknown 'x\\ny'"
