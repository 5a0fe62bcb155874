"""benchmarks/db/bench_sync.py keeps working: its smoke mode runs the whole benchmark on 100 entries."""

from __future__ import annotations

import json
import subprocess
import sys

from ..conftest import ROOT


def test_the_sync_benchmark_runs():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "db" / "bench_sync.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    row = json.loads(lines[1])
    assert row["size"] == 100 and row["query_matched"] > 0 and row["first_sync_s"] > 0
    assert lines[-1] == "smoke run: ok"
