from __future__ import annotations

import json

from ..conftest import run_cli
from ..test_registry import GOOD

NEW = [
    "add",
    "--id",
    "aardvark",
    "--name",
    "Aardvark",
    "--alias",
    "aard",
    "--year",
    "2026",
    "--arxiv",
    "2601.01234",
    "--family",
    "ssm",
    "--summary",
    "A test SSM.",
    "--compute",
    "O(d n)",
    "--state",
    "O(d n)",
    "--retrieval",
    "none",
    "--hyper",
    "n=state size:16",
    "--evidence",
    "Sec. 3, Eq. 2.",
]


def test_add_inserts_in_sorted_place_without_touching_the_rest(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("# header\n\n" + GOOD)
    result = run_cli(*NEW, "--registry", str(path))
    assert result.returncode == 0, result.stderr
    text = path.read_text()
    assert text.index("- id: aardvark") < text.index("- id: alpha")
    assert text.replace(text[text.index("- id: aardvark") : text.index("- id: alpha")], "") == "# header\n\n" + GOOD
    assert "n: {meaning: state size, value: 16}" in text
    assert run_cli("fmt", str(path), "--check").returncode == 0
    assert run_cli("classify", "--arch", "aard", "--registry", str(path)).returncode == 0


def test_add_refuses_an_entry_that_does_not_validate_and_writes_nothing(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    bad = [arg if arg != "O(d n)" else "O(d k)" for arg in NEW]
    result = run_cli(*bad, "--registry", str(path))
    assert result.returncode == 1 and "undeclared symbol 'k'" in result.stderr
    assert path.read_text() == GOOD


def test_add_refuses_a_duplicate_id(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    result = run_cli(*[arg if arg != "aardvark" else "alpha" for arg in NEW], "--registry", str(path))
    assert result.returncode == 1 and "already" in result.stderr
    assert path.read_text() == GOOD


def test_add_without_a_terminal_names_the_missing_flag(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    result = run_cli("add", "--id", "x", "--registry", str(path), input="")
    assert result.returncode == 2 and "--name" in result.stderr


def test_add_dry_run_prints_the_entry_and_writes_nothing(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    result = run_cli(*NEW, "--registry", str(path), "--dry-run")
    assert result.returncode == 0 and result.stdout.startswith("- id: aardvark\n")
    assert path.read_text() == GOOD


def test_add_a_hybrid_from_its_components(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    hybrid = ["add", "--id", "mix", "--name", "Mix", "--year", "2024", "--arxiv", "2401.00002", "--family", "hybrid"]
    hybrid += [
        "--summary",
        "A hybrid.",
        "--component",
        "alpha=0.75",
        "--component",
        "beta=0.25",
        "--evidence",
        "Fig 1.",
    ]
    result = run_cli(*hybrid, "--registry", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(run_cli("classify", "mix", "--json", "--registry", str(path)).stdout)["hybrid"] is True


def test_add_with_a_malformed_component_is_a_usage_error(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    args = ["add", "--id", "mix", "--name", "Mix", "--year", "2024", "--arxiv", "2401.00002", "--family", "hybrid"]
    result = run_cli(*args, "--summary", "S.", "--component", "alpha", "--evidence", "E.", "--registry", str(path))
    assert result.returncode == 2 and "--component" in result.stderr and "Traceback" not in result.stderr
    assert path.read_text() == GOOD
