"""The shared options: an architecture named either way, and the one set of filters of list and query."""

from __future__ import annotations

import json

import pytest

from ..conftest import run_cli


def _json(*args: str):
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("command", ["classify", "show"])
def test_an_architecture_is_named_by_position_or_by_arch(command):
    positional = _json(command, "Retentive-Network", "--json")
    assert _json(command, "--arch", "retnet", "--json") == positional
    assert _json(command, "-a", "RETNET", "--json") == positional


@pytest.mark.parametrize("command", ["classify", "show"])
def test_two_different_architectures_or_none_is_a_usage_error(command):
    both = run_cli(command, "retnet", "--arch", "mamba")
    assert both.returncode == 2 and "two architectures given" in both.stderr
    assert run_cli(command, "retnet", "--arch", "RetNet").returncode == 0
    neither = run_cli(command)
    assert neither.returncode == 2 and "name an architecture" in neither.stderr


def test_list_filters_on_the_classification():
    rows = _json("list", "--efficient", "--compact", "--json")
    assert rows and all(row["placement"] == "EC" for row in rows)
    not_compact = _json("list", "--not-compact", "--json")
    assert not {row["id"] for row in rows} & {row["id"] for row in not_compact}
    assert {row["placement"] for row in _json("list", "--placement", "r", "--hybrid", "--json")} == {"R"}
    assert all(not row["hybrid"] for row in _json("list", "--pure", "--json"))


def test_list_filters_on_the_entry():
    assert {row["family"] for row in _json("list", "-f", "ssm", "-f", "hybrid", "--json")} == {"ssm", "hybrid"}
    years = [row["year"] for row in _json("list", "--year-from", "2024", "--year-to", "2025", "--json")]
    assert years and set(years) <= {2024, 2025}
    assert "retnet" in {row["id"] for row in _json("list", "--search", "RETENTIVE", "--json")}  # an alias


def test_list_sorts_and_limits():
    rows = _json("list", "--sort", "year", "--desc", "--limit", "5", "--json")
    assert len(rows) == 5
    keys = [(row["year"], row["id"]) for row in rows]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--family", "snake"], "unknown family 'snake'"),
        (["--placement", "ECR"], "unknown placement 'ECR'"),
        (["--tag", "magic"], "unknown tag 'magic'"),
        (["--sort", "colour"], "unknown sort key 'colour'"),
        (["--year-from", "2025", "--year-to", "2020"], "--year-from 2025 is after --year-to 2020"),
        (["--search", "x" * 201], "at most 200"),
        (["--format", "csv", "--json"], "--json conflicts with --format csv"),
    ],
)
def test_bad_filters_are_one_line_usage_errors(args, message):
    result = run_cli("list", *args)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_list_csv_has_a_header_and_a_row_per_entry():
    lines = run_cli("list", "--family", "ssm", "--format", "csv").stdout.splitlines()
    assert lines[0].startswith("id,name,title,authors,year,family,tags,placement")
    assert len(lines) - 1 == len(_json("list", "--family", "ssm", "--json"))


def test_list_answers_as_query_does():
    """The same filters select the same rows, in the same order and shape, from the file as from the database."""
    args = ["--recall", "--year-from", "2023", "--sort", "name", "--json"]
    from_file = _json("list", *args)
    from_database = _json("query", *args)
    assert [row["id"] for row in from_file] == [row["id"] for row in from_database]
    assert set(from_file[0]) == set(from_database[0])
