"""The database commands as a user meets them: real subprocesses, exit codes, output formats."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from archclass.db import migrate
from archclass.db.query import EXTRA_FIELDS, RECORD_FIELDS

from ..conftest import run_cli
from .conftest import EFFICIENT_AND_COMPACT, IDS, REGISTRY_B_YAML, SYNC_COUNTS
from .test_migrations import TABLES


def query(db: str, registry: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("query", "--db", db, "--registry", str(registry), *args)


def query_in_process(db: str, registry: Path, *args: str):
    """The same command through typer's CliRunner: much faster, for the many small cases."""
    from typer.testing import CliRunner

    from archclass.cli import app

    return CliRunner().invoke(app, ["query", "--db", db, "--registry", str(registry), *args], env={"COLUMNS": "200"})


def test_query_json_on_a_fresh_path_needs_no_setup(tmp_path, registry_file):
    path = tmp_path / "new" / "dir" / "fresh.db"
    result = run_cli("query", "--json", "--registry", str(registry_file), env={"ARCHCLASS_DB": str(path)})
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["id"] for row in rows] == IDS
    assert all(list(row) == list(RECORD_FIELDS) for row in rows)
    mamba = rows[1]
    assert (mamba["per_step_compute"], mamba["state_size"], mamba["confidence"]) == ("O(d n)", "O(d n)", "high")
    assert mamba["title"].startswith("Mamba: Linear-Time") and mamba["authors"] == ["Albert Gu", "Tri Dao"]
    assert mamba["tags"] == ["gating", "selective"]
    assert path.is_file() and "created database" in result.stderr


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="XDG_DATA_HOME moves the default only on Linux")
def test_default_location_is_the_user_data_dir(_private_database, registry_file, monkeypatch):
    monkeypatch.delenv("ARCHCLASS_DB")
    result = run_cli("query", "--json", "--registry", str(registry_file))
    assert result.returncode == 0, result.stderr
    assert (_private_database / "archclass" / "archclass.db").is_file()
    status = json.loads(run_cli("db", "status", "--json", "--registry", str(registry_file)).stdout)
    assert status["database"].endswith("/archclass/archclass.db") and status["in_step"]


def test_query_efficient_and_compact(db_url, registry_file):
    result = query(db_url, registry_file, "--efficient", "--compact", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["id"] for row in rows] == EFFICIENT_AND_COMPACT
    assert all(row["placement"] == "EC" and row["efficient"] and row["compact"] and not row["recall"] for row in rows)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--not-efficient"], ["jamba", "transformer"]),
        (["--not-compact", "--pure"], ["transformer"]),
        (["--recall"], ["jamba", "transformer"]),
        (["--no-recall"], EFFICIENT_AND_COMPACT),
        (["--hybrid"], ["jamba"]),
        (["--placement", "ec"], EFFICIENT_AND_COMPACT),
        (["--placement", "R", "--placement", "none"], ["jamba", "transformer"]),
        (["--family", "ssm"], ["mamba"]),
        (["--family", "SSM", "-f", "linear-rnn"], ["mamba", "retnet"]),
        (["--year-from", "2020", "--year-to", "2023"], ["mamba", "retnet"]),
        (["--sort", "year"], ["transformer", "web-model", "mamba", "retnet", "jamba"]),
        (["--sort", "name", "--desc", "--limit", "2"], ["web-model", "transformer"]),
        (["--search", "%"], ["web-model"]),
        (["--search", "'; DROP TABLE architectures;--"], []),
        (["--tag", "selective", "--tag", "GATING"], ["mamba"]),
        (["--tag", "selective", "--tag", "decay"], []),
        (["--reading", "recipe", "--efficient", "--compact"], ["mamba", "retnet"]),
        (["--reading", "recipe", "--placement", "none"], ["web-model"]),
        (["--year-from", "0", "--limit", str(2**63 - 1)], IDS),
    ],
)
def test_query_filters(tmp_path, registry_file, args, expected):
    db = str(tmp_path / "q.db")
    result = query_in_process(db, registry_file, "--json", *args)
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in json.loads(result.stdout)] == expected


def test_query_formats(tmp_path, registry_file):
    db = str(tmp_path / "f.db")
    as_json = json.loads(query(db, registry_file, "--format", "json").stdout)
    table = query(db, registry_file)
    assert table.returncode == 0 and "5 architectures" in table.stdout and "retnet" in table.stdout
    assert "O(d n)" in table.stdout and "confidence" in table.stdout and "per step" in table.stdout
    rows = list(csv.DictReader(io.StringIO(query(db, registry_file, "--format", "csv").stdout)))
    assert [r["id"] for r in rows] == [r["id"] for r in as_json] == IDS
    assert rows[1]["efficient"] == "true" and rows[1]["placement"] == "EC"
    assert (rows[1]["per_step_compute"], rows[1]["state_size"], rows[1]["confidence"]) == ("O(d n)", "O(d n)", "high")
    assert rows[1]["authors"] == "Albert Gu;Tri Dao" and rows[1]["position_e"] == "0.5"
    assert query(db, registry_file, "--json", "--format", "csv").returncode == 2
    empty = query(db, registry_file, "--family", "theoretical")
    assert empty.returncode == 0 and "no architectures match" in empty.stderr


HOSTILE = ["ssm'; DROP TABLE architectures;--", "%", "_", ";--", '"', "ẞ🙂ssm", "x" * 10_000, "ü" * 10_000]


@pytest.mark.parametrize("option", ["--family", "--placement", "--tag", "--reading", "--sort"])
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:10]))
def test_hostile_family_and_placement_give_a_clear_usage_error(tmp_path, registry_file, option, value):
    db = str(tmp_path / "h.db")
    assert query_in_process(db, registry_file, "--json").exit_code == 0
    result = query_in_process(db, registry_file, option, value, "--json")
    assert result.exit_code == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert f"unknown {option[2:].replace('sort', 'sort key')}" in result.stderr
    assert len(result.stderr) < 1500  # a 10k-character value is not echoed back in full
    after = query_in_process(db, registry_file, "--json")
    assert after.exit_code == 0 and len(json.loads(after.stdout)) == len(IDS)


def test_a_hostile_value_through_the_real_entry_point(tmp_path, registry_file):
    result = query(str(tmp_path / "r.db"), registry_file, "--family", "ssm'; DROP TABLE architectures;--")
    assert result.returncode == 2 and "unknown family" in result.stderr and "Traceback" not in result.stderr


def test_hostile_search_text(tmp_path, registry_file):
    db = str(tmp_path / "s.db")
    too_long = query(db, registry_file, "--search", "x" * 10_000)
    assert too_long.returncode == 2 and "at most 200" in too_long.stderr and "Traceback" not in too_long.stderr
    for value in ["_", "%", "' OR 1=1 --", "ẞ🙂", '\\"']:
        result = query(db, registry_file, "--search", value, "--json")
        assert result.returncode == 0, result.stderr
        assert all(value.casefold() in (row["id"] + row["name"]).casefold() for row in json.loads(result.stdout))


@pytest.mark.parametrize(
    "args",
    [
        ["--year-from", str(2**64)],
        ["--year-to", "-99999999999999999999999"],
        ["--limit", str(10**30)],
        ["--limit", "0"],
        ["--year-from", "10000"],
    ],
)
def test_overflowing_integers_are_usage_errors(tmp_path, registry_file, args):
    result = query(str(tmp_path / "o.db"), registry_file, "--json", *args)
    assert result.returncode == 2 and result.stdout == "", result.stderr
    assert f"usage error: Invalid value for '{args[0]}'" in result.stderr
    assert "OverflowError" not in result.stderr and "internal error" not in result.stderr


def test_query_on_postgres_and_sqlite(db_url, registry_file):
    result = query(db_url, registry_file, "--family", "hybrid", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("jamba,Jamba,,,2024,hybrid,,R,false,false,true,true,,,T,T,high,")


def test_bad_registry_is_one_line_and_changes_nothing(tmp_path, registry_file):
    db = str(tmp_path / "b.db")
    assert query(db, registry_file, "--json").returncode == 0
    registry_file.write_text(REGISTRY_B_YAML.replace("family: ssm", "family: snake"), encoding="utf-8")
    for command in (["sync"], ["query", "--json"]):
        result = run_cli(*command, "--db", db, "--registry", str(registry_file))
        assert result.returncode == 1 and result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1 and "family" in result.stderr
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM architectures").fetchone()[0] == len(IDS)


def test_sync_json_summary_and_resync_on_change(db_url, registry_file):
    first = run_cli("sync", "--json", "--db", db_url, "--registry", str(registry_file))
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["entries"] == 5 and summary["changed"] and summary["rows"] == SYNC_COUNTS
    assert summary["results"] is None
    again = json.loads(run_cli("sync", "--json", "--db", db_url, "--registry", str(registry_file)).stdout)
    assert not again["changed"] and again["previous_registry_sha256"] == summary["registry_sha256"]
    registry_file.write_text(REGISTRY_B_YAML, encoding="utf-8")
    stale = json.loads(run_cli("db", "status", "--json", "--db", db_url, "--registry", str(registry_file)).stdout)
    assert stale["in_step"] is False and stale["entries"] == 5
    result = query(db_url, registry_file, "--json")
    assert "synced 6 entries" in result.stderr and len(json.loads(result.stdout)) == 6


def test_db_status_creates_nothing_then_reports(tmp_path, registry_file):
    path = tmp_path / "status.db"
    before = run_cli("db", "status", "--json", "--db", str(path), "--registry", str(registry_file))
    assert before.returncode == 0, before.stderr
    report = json.loads(before.stdout)
    head = migrate.head_revision()
    assert report["exists"] is False and report["current_revision"] is None and report["head_revision"] == head
    assert not path.exists()
    upgraded = json.loads(run_cli("db", "upgrade", "--json", "--db", str(path)).stdout)
    assert upgraded["upgraded"] and upgraded["current_revision"] == head
    assert json.loads(run_cli("db", "upgrade", "--json", "--db", str(path)).stdout)["upgraded"] is False
    assert query(str(path), registry_file).returncode == 0
    report = json.loads(run_cli("db", "status", "--json", "--db", str(path), "--registry", str(registry_file)).stdout)
    assert report["up_to_date"] and report["in_step"] and report["entries"] == 5 and report["probe_runs"] == 0
    assert report["recall_runs"] == 0
    assert report["synced"]["registry_sha256"] == report["registry_sha256"]
    human = run_cli("db", "status", "--db", str(path), "--registry", str(registry_file))
    assert "up to date" in human.stdout and "in step" in human.stdout


def test_export_formats(db_url, registry_file, tmp_path):
    def export(*args: str) -> str:
        result = run_cli("export", "--db", db_url, "--registry", str(registry_file), *args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    records = json.loads(export("--json"))
    assert [r["id"] for r in records] == IDS
    queried = json.loads(run_cli("query", "--json", "--db", db_url, "--registry", str(registry_file)).stdout)
    assert [{key: r[key] for key in RECORD_FIELDS} for r in records] == queried  # the query's records ...
    assert all(list(r) == [*RECORD_FIELDS, *EXTRA_FIELDS] for r in records)  # ... with more fields
    jamba = records[0]
    assert jamba["components"] == [{"arch": "mamba", "fraction": 0.875}, {"arch": "transformer", "fraction": 0.125}]
    assert jamba["placement"] == "R" and jamba["rules"][0]["explanation"]
    assert records[1]["state_size"] == "O(d n)" and records[1]["aliases"] == ["s6", "Ölfilter"]

    rows = list(csv.DictReader(io.StringIO(export("--format", "csv"))))
    assert rows[0]["components"] == "mamba:0.875;transformer:0.125" and rows[1]["aliases"] == "s6;Ölfilter"

    markdown = export("--format", "markdown", "--efficient", "--compact").splitlines()
    assert len(markdown) == 2 + len(EFFICIENT_AND_COMPACT)
    assert markdown[1] == "|---|---|---|---|---|---|---|---|---|"
    assert all(len(re.findall(r"(?<!\\)\|", line)) == 10 for line in markdown)  # a '|' in a name is escaped
    assert "Web {Model} \\| 50% & Co_" in "\n".join(markdown)
    assert "[arXiv:2312.00752](https://arxiv.org/abs/2312.00752)" in markdown[2]

    bib = export("--format", "bibtex")
    entries = re.findall(r"@misc\{([^,]+),", bib)
    assert entries == IDS
    assert "eprint = {2307.08621}" in bib and "archivePrefix = {arXiv}" in bib
    blocks = {re.findall(r"@misc\{([^,]+),", block)[0]: block for block in bib.split("\n\n")}
    mamba = blocks["mamba"]
    assert "title = {{Mamba: Linear-Time Sequence Modeling with Selective State Spaces}}" in mamba
    assert "author = {Albert Gu and Tri Dao}" in mamba and "% archclass" not in mamba
    assert "author = {Ashish Vaswani and Noam Shazeer and others}" in bib
    assert "% archclass: the registry has no authors for retnet yet\n@misc{retnet," in bib
    assert "% archclass: the registry has no title or authors for jamba yet; the name stands in for the title" in bib
    assert "title = {{Jamba}}" in bib
    web = bib[bib.index("@misc{web-model") :]
    assert "howpublished = {\\url{https://example.org/paper?id=1&x=50\\%25\\#sec}}" in web
    assert "eprint" not in web and "title = {{Web \\{Model\\} | 50\\% \\& Co\\_}}" in web
    assert bib.count("{") == bib.count("}")

    out = tmp_path / "out" / "papers.bib"
    run_cli("export", "--db", db_url, "--registry", str(registry_file), "--format", "bibtex", "-o", str(out))
    assert out.read_text() == bib


def test_the_database_file_is_readable_with_sqlite3(tmp_path, registry_file):
    path = tmp_path / "readable.db"
    assert query(str(path), registry_file).returncode == 0
    connection = sqlite3.connect(path)
    try:
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert TABLES | {"alembic_version"} <= names
        rows = connection.execute(
            "SELECT a.id, a.family, c.placement, c.efficient, c.compact, c.recall FROM architectures a "
            "JOIN classifications c ON c.arch_id = a.id WHERE c.efficient AND c.compact ORDER BY a.id"
        ).fetchall()
        assert [r[0] for r in rows] == EFFICIENT_AND_COMPACT and rows[0][3:] == (1, 1, 0)
        no_bound = connection.execute("SELECT arch_id FROM classifications WHERE bound IS NULL ORDER BY 1").fetchall()
        assert no_bound == [("jamba",), ("transformer",)]  # SQL NULL, not the JSON text 'null'
        rules = connection.execute("SELECT rule, explanation FROM rule_firings WHERE arch_id = 'retnet'").fetchall()
        assert [r[0] for r in rules] == ["constant-step", "constant-state", "no-content-read"]
    finally:
        connection.close()


@pytest.mark.parametrize(
    "command", [["db", "upgrade"], ["db", "status"], ["sync"], ["query"], ["export"], ["datasette-metadata"]]
)
def test_every_command_has_help_with_an_example(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0 and "Example" in result.stdout
    if command not in (["db", "upgrade"], ["datasette-metadata"]):
        assert "--json" in result.stdout


def test_help_and_query_stay_light(tmp_path, registry_file):
    """`archclass --help` loads no SQLAlchemy; `query` loads no torch or matplotlib."""
    code = (
        "import runpy, sys\n"
        "sys.argv = ['archclass'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('archclass', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'torch', 'matplotlib') if m in sys.modules),"
        " file=sys.stderr)\n"
    )
    run = lambda *args: subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)  # noqa: E731
    assert run("--help").stderr.strip().splitlines()[-1] == "[]"
    loaded = run("query", "--json", "--db", str(tmp_path / "l.db"), "--registry", str(registry_file)).stderr
    assert "torch" not in loaded and "matplotlib" not in loaded
