"""Datasette, ready to use: every table, view and column described, the committed metadata up to date, and a
real Datasette server answering the view and the canned queries as archclass itself does."""

from __future__ import annotations

import importlib.util
import json
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from archclass.db.datasette import CANNED_QUERIES, metadata

from ..conftest import ROOT, run_cli

METADATA_FILE = ROOT / "datasette" / "metadata.yml"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """archclass.db (Datasette names the database after the file): the registry and the committed results."""
    path = tmp_path_factory.mktemp("datasette") / "archclass.db"
    result = run_cli("sync", "--results", "--db", str(path))
    assert result.returncode == 0, result.stderr
    return path


def test_every_table_view_and_column_is_described(database):
    described = metadata()["databases"]["archclass"]["tables"]
    with sqlite3.connect(database) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
        for name in names:
            columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{name}")')]
            assert sorted(described[name]["columns"]) == sorted(columns), name
            assert all(described[name]["columns"].values()), name
            assert described[name]["description"], name
    connection.close()
    assert set(described) == set(names)
    assert {name for name, table in described.items() if table.get("hidden")} == {"meta", "alembic_version"}


def test_the_committed_metadata_is_up_to_date(tmp_path):
    result = run_cli("datasette-metadata", "--output", str(METADATA_FILE), "--check")
    assert result.returncode == 0, result.stderr
    stale = tmp_path / "metadata.yml"
    stale.write_text(METADATA_FILE.read_text().replace("Compact and efficient", "Fast"))
    result = run_cli("datasette-metadata", "--output", str(stale), "--check")
    assert result.returncode == 1 and "out of date" in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def datasette(database: Path) -> Iterator[str]:
    if importlib.util.find_spec("datasette") is None:
        pytest.skip("datasette is not installed: pip install 'archclass[datasette]'")
    port = _free_port()
    command = [sys.executable, "-m", "datasette", "serve", str(database), "--metadata", str(METADATA_FILE)]
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read().decode() if server.stdout else ""
                    pytest.fail(f"datasette did not start: {output[-2000:]}")
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _archclass_json(*args: str, database: Path) -> list[dict]:
    result = run_cli("query", "--json", "--db", str(database), *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_view_serves_one_row_per_architecture(datasette, database):
    rows = _get(f"{datasette}/archclass/architecture_classes.json?_shape=array&_size=max")
    assert isinstance(rows, list)
    records = _archclass_json(database=database)
    assert [row["id"] for row in rows] == [record["id"] for record in records]
    by_id = {row["id"]: row for row in rows}
    for record in records:
        row = by_id[record["id"]]
        assert row["placement"] == record["placement"] and row["family"] == record["family"]
        assert row["efficient"] == ("true" if record["efficient"] else "false")
        assert json.loads(row["tags"]) == record["tags"]
    facets = _get(f"{datasette}/archclass/architecture_classes.json?_facet=placement&_size=0")
    assert {item["value"] for item in facets["facet_results"]["placement"]["results"]} <= {  # type: ignore[index]
        "EC",
        "ER",
        "CR",
        "E",
        "C",
        "R",
        "none",
    }


def test_compact_and_efficient_is_archclass_query(datasette, database):
    rows = _get(f"{datasette}/archclass/compact_and_efficient.json?_shape=array&_size=max")
    expected = [record["id"] for record in _archclass_json("--efficient", "--compact", database=database)]
    assert [row["id"] for row in rows] == expected and expected  # type: ignore[index, union-attr]


def test_the_other_canned_queries_answer(datasette, database):
    recall = _get(f"{datasette}/archclass/recall_against_the_bound.json?_shape=array&_size=max")
    stored = json.loads((ROOT / "results" / "recall" / "results.json").read_text())["runs"]
    assert len(recall) == len(stored) and {row["verdict"] for row in recall} == {"under"}  # type: ignore[arg-type, union-attr, index]
    assert _get(f"{datasette}/archclass/probe_disagreements.json?_shape=array") == []  # every probe agrees
    hybrids = _get(f"{datasette}/archclass/hybrids_by_attention_share.json?_shape=array&_size=max")
    expected = [record["id"] for record in _archclass_json("--hybrid", database=database)]
    assert sorted(row["id"] for row in hybrids) == expected  # type: ignore[union-attr, index]
    shares = [row["full_attention_share"] for row in hybrids]  # type: ignore[union-attr, index]
    assert shares == sorted(shares, reverse=True) and all(0 <= share <= 1 for share in shares)
    assert set(CANNED_QUERIES) == {
        "compact_and_efficient",
        "hybrids_by_attention_share",
        "probe_disagreements",
        "recall_against_the_bound",
    }


def test_internal_tables_are_hidden(datasette):
    tables = _get(f"{datasette}/archclass.json")["tables"]  # type: ignore[index]
    hidden = {table["name"] for table in tables if table["hidden"]}
    assert {"meta", "alembic_version"} <= hidden and "architectures" not in hidden
