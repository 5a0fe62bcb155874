"""The command line as a whole: every command's help and README row, --version, -h, completion, and a
missing optional dependency named as the extra to install."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from archclass import __version__
from archclass.cli import click_command

from ..conftest import ROOT, run_cli


def _command_paths(command, prefix=()):
    """Every command and sub-command as a tuple of words, e.g. ('db', 'status'); groups included."""
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        path = (*prefix, name)
        yield path, bool(getattr(sub, "commands", None))
        yield from _command_paths(sub, path)


COMMANDS = list(_command_paths(click_command()))


def _readme_rows() -> set[tuple[str, ...]]:
    """The command of each row of README's command table: the words after `archclass` up to the first
    argument or option."""
    rows = set()
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `archclass ([^`]*)`", line)
        if match:
            words = []
            for word in match.group(1).split():
                if not re.fullmatch(r"[a-z][a-z-]*", word):
                    break
                words.append(word)
            rows.add(tuple(words))
    return rows


def test_the_command_tree_is_complete():
    names = {path for path, _ in COMMANDS}
    for expected in [("classify",), ("show",), ("list",), ("add",), ("query",), ("db", "status"), ("probe",)]:
        assert expected in names


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=" ".join)
def test_every_command_has_help_with_an_example_that_fits_80_columns(path):
    result = run_cli(*path, "--help", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    assert "Example" in result.stdout
    assert "…" not in result.stdout, "an option or its help is cut off at 80 columns"
    assert "<bool>" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    for option in ("--db", "--registry"):
        if f"{option} " in result.stdout:
            assert re.search(rf"{option}\s+\S", result.stdout)


@pytest.mark.parametrize("path", [path for path, group in COMMANDS if not group], ids=" ".join)
def test_every_command_has_a_readme_row(path):
    assert path in _readme_rows(), f"README.md's command table has no row for 'archclass {' '.join(path)}'"


def test_short_help_is_help():
    assert run_cli("classify", "-h").stdout == run_cli("classify", "--help").stdout
    top = run_cli("-h")
    assert top.returncode == 0 and "classify" in top.stdout and "Example" in top.stdout


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout == f"archclass {__version__}\n"


def test_shell_completion_completes_commands_and_architecture_ids():
    env = {"_ARCHCLASS_COMPLETE": "complete_bash", "COMP_CWORD": "1", "COMP_WORDS": "archclass cla"}
    assert run_cli(env=env).stdout.split() == ["classify"]
    env = {"_ARCHCLASS_COMPLETE": "complete_bash", "COMP_CWORD": "2", "COMP_WORDS": "archclass show retn"}
    assert "retnet" in run_cli(env=env).stdout.split()
    script = run_cli("--show-completion", "bash")
    assert result_ok(script) and "_ARCHCLASS_COMPLETE" in script.stdout


def result_ok(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0 and "Traceback" not in result.stderr


def _run_without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a Python where MODULE cannot be imported, as after an install without its extra."""
    code = f"import sys; sys.modules[{module!r}] = None; sys.argv = ['archclass', *{list(args)!r}]\n"
    code += "from archclass.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_a_missing_torch_names_the_extra_to_install():
    result = _run_without("torch", "probe", "--arch", "retnet", "--lengths", "16,32", "--no-store")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: this needs torch, which is not installed; install it with: pip install 'archclass[probe]'"
    ]


def test_without_torch_the_registry_commands_still_work():
    result = _run_without("torch", "classify", "retnet", "--json")
    assert result.returncode == 0 and '"placement": "EC"' in result.stdout


def test_an_unexpected_error_is_one_line_that_asks_for_a_report():
    result = _run_without("archclass.classifier", "classify", "retnet")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("internal error: ModuleNotFoundError") and "please report it" in line


def test_the_cli_stays_a_thin_layer():
    """Issue 11's measure: no function in archclass/cli over 60 lines, and the package under 1,500 lines
    (the logic lives in the library; a command reads its options, calls it and prints)."""
    import ast

    package = ROOT / "src" / "archclass" / "cli"
    total, long_functions = 0, []
    for path in sorted(package.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        total += len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 60:
                long_functions.append(f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert not long_functions
    assert total < 1500
