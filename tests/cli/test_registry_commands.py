"""The CLI as a user meets it: real subprocesses, exit codes, stdout versus stderr, JSON shapes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ..conftest import REGISTRY, run_cli
from ..test_registry import GOOD


def test_classify_retnet_human_output():
    result = run_cli("classify", "--arch", "retnet")
    assert result.returncode == 0, result.stderr
    assert "efficient yes" in result.stdout and "compact yes" in result.stdout and "recall no" in result.stdout
    assert "placement EC" in result.stdout and "K <=" in result.stdout


def test_classify_json_has_the_documented_keys():
    result = run_cli("classify", "--arch", "Retentive-Network", "--json")
    data = json.loads(result.stdout)
    assert {"id", "efficient", "compact", "recall", "placement", "position", "rules", "bound"} <= set(data)
    assert data["id"] == "retnet" and data["efficient"] is True and data["recall"] is False
    assert sum(data["position"]) == pytest.approx(1)
    assert data["bound"]["max_pairs"] > 0 and data["bound"]["formula"]


def test_classify_bound_follows_options():
    small = json.loads(run_cli("classify", "--arch", "retnet", "--json", "--d", "64", "--layers", "1").stdout)
    big = json.loads(run_cli("classify", "--arch", "retnet", "--json", "--d", "128", "--layers", "1").stdout)
    assert big["bound"]["n"] == 4 * small["bound"]["n"]
    # max_pairs is the whole number of pairs the bound allows, so it is 4x up to the rounding down
    assert 4 * small["bound"]["max_pairs"] <= big["bound"]["max_pairs"] < 4 * (small["bound"]["max_pairs"] + 1)


def test_unknown_architecture_suggests_and_exits_1():
    result = run_cli("classify", "--arch", "retnett")
    assert result.returncode == 1
    assert "unknown architecture 'retnett'; did you mean 'retnet'" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_usage_error_exits_2():
    result = run_cli("classify", "--arch", "retnet", "--bits", "many")
    assert result.returncode == 2


def test_bound_command_and_json():
    result = run_cli("bound", "--state", "1000", "--bits", "16", "--vocab", "1024", "--accuracy", "1", "--json")
    data = json.loads(result.stdout)
    assert data["max_pairs"] == 1777  # 16000 / 9 pairs, rounded down to whole pairs
    bad = run_cli("bound", "--state", "1000", "--accuracy", "0.01")
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1


def test_validate_reports_file_entry_field_on_one_line(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD.replace("per_step_compute: O(d^2)", "per_step_compute: O(k d)"))
    result = run_cli("validate", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:8: entry 'alpha': field 'inference.per_step_compute': ")
    assert "undeclared symbol 'k'" in first


def test_validate_json(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD)
    data = json.loads(run_cli("validate", str(path), "--json").stdout)
    assert data == {"file": str(path), "entries": 2, "ok": True, "issues": []}


def test_broken_registry_in_classify_is_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- id: [unclosed\n")
    result = run_cli("classify", "--arch", "x", "--registry", str(path))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1


def test_fmt_check_fails_with_a_diff_and_fmt_fixes(tmp_path):
    first, second = GOOD.split("\n\n")
    path = tmp_path / "r.yaml"
    path.write_text(
        "# header\n\n"
        + second
        + "\n\n"
        + first.replace("  year: 2020\n", "").replace("  name: Alpha\n", "  name: Alpha\n  year: 2020\n")
    )
    check = run_cli("fmt", str(path), "--check")
    assert check.returncode == 1 and "+- id: alpha" in check.stdout
    assert run_cli("fmt", str(path)).returncode == 0
    assert run_cli("fmt", str(path), "--check").returncode == 0
    text = path.read_text()
    assert text.startswith("# header\n\n- id: alpha") and text.index("id: alpha") < text.index("id: beta")


@pytest.mark.registry
def test_the_real_registry_is_canonical_and_valid():
    assert run_cli("fmt", str(REGISTRY), "--check").returncode == 0
    assert run_cli("validate").returncode == 0


@pytest.mark.registry
def test_committed_json_schema_is_current():
    result = run_cli("schema", "--output", "taxonomy/architecture.schema.json", "--check")
    assert result.returncode == 0, result.stderr
    schema = json.loads(run_cli("schema").stdout)
    assert schema["definitions"]["Architecture"]["additionalProperties"] is False
    assert REGISTRY.read_text().startswith("# yaml-language-server: $schema=../taxonomy/architecture.schema.json")


def test_list_and_show_json():
    rows = json.loads(run_cli("list", "--json").stdout)
    assert any(row["id"] == "retnet" and row["placement"] == "EC" for row in rows)
    shown = json.loads(run_cli("show", "retention", "--json").stdout)
    assert shown["entry"]["arxiv"] == "2307.08621" and shown["classification"]["placement"] == "EC"


def test_every_command_has_help_with_an_example():
    for command in ("classify", "show", "list", "validate", "fmt", "schema", "bound"):
        result = run_cli(command, "--help")
        assert result.returncode == 0 and "Example: archclass" in result.stdout, command


@pytest.mark.parametrize("args", [["classify", "--arch", "retnet"], ["show", "retnet"], ["validate"], ["list"]])
def test_fast_commands_import_no_torch_or_matplotlib(args):
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['archclass', *{args!r}]\n"
        "try:\n    runpy.run_module('archclass', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'matplotlib', 'sympy', 'numpy'})\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in result.stdout, result.stdout[-500:]


def test_no_color_and_non_tty_output_has_no_escape_codes():
    result = run_cli("classify", "--arch", "retnet")
    assert "\x1b[" not in result.stdout
