"""Replay tests/corpus: every hostile or broken file gets its expected outcome, quickly."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from archclass import fmt
from archclass.errors import RegistryError
from archclass.registry import load_registry

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.yaml"))
SECONDS = 10


def expectations(path: Path) -> dict[str, str]:
    head = path.read_bytes()[:4096].decode("utf-8", errors="replace").removeprefix("\ufeff")
    found = {}
    for line in head.splitlines():
        if not line.startswith("#"):
            break
        match = re.match(r"# (expect(?:-fmt)?): (.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_the_corpus_is_there_and_every_file_says_what_to_expect():
    assert len(FILES) >= 25
    assert all("expect" in expectations(path) or "expect-fmt" in expectations(path) for path in FILES)


@pytest.mark.parametrize("path", [p for p in FILES if "expect" in expectations(p)], ids=lambda p: p.name)
def test_validate_outcome(path):
    expected = expectations(path)["expect"]
    start = time.perf_counter()
    if expected == "valid":
        load_registry(path)
        return
    with pytest.raises(RegistryError) as error:
        load_registry(path)
    assert time.perf_counter() - start < SECONDS
    messages = [str(issue) for issue in error.value.issues]
    for message in messages:
        assert message.isprintable(), message
        assert re.match(rf"{re.escape(str(path))}:\d+: ", message), message
    assert any(expected in message for message in messages), messages


@pytest.mark.parametrize("path", [p for p in FILES if "expect-fmt" in expectations(p)], ids=lambda p: p.name)
def test_fmt_outcome(path):
    expected = expectations(path)["expect-fmt"]
    start = time.perf_counter()
    if expected == "keeps comments":
        original = fmt.read(path)
        formatted = fmt.format_text(original, str(path))
        assert not formatted.startswith("\ufeff")
        kept = [text for text, _ in fmt.comments(formatted)]
        assert all(text in kept for text, _ in fmt.comments(original))
        assert formatted.startswith("# yaml-language-server:")
        return
    with pytest.raises(RegistryError) as error:
        fmt.check(path)
    assert time.perf_counter() - start < SECONDS
    message = str(error.value)
    assert message.isprintable() and re.match(rf"{re.escape(str(path))}:\d+: ", message), message
    assert expected in message, message


def test_a_chain_of_1500_hybrids_is_refused_without_recursion(tmp_path):
    leaf = (CORPUS / "hybrid-chain-300.yaml").read_text(encoding="utf-8").split("\n- {")[0]
    links = [
        f"- {{id: c{i:04d}, name: C{i}, year: 2020, arxiv: '2001.00001', family: hybrid, summary: s, "
        f"components: [{{arch: c{i - 1:04d}, fraction: 1}}], evidence: e}}"
        for i in range(1, 1501)
    ]
    path = tmp_path / "chain.yaml"
    path.write_text(leaf + "\n" + "\n".join(links) + "\n", encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(RegistryError) as error:
        load_registry(path)
    assert time.perf_counter() - start < SECONDS
    assert len(error.value.issues) == 1499  # every link but the first names a hybrid
