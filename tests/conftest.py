from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "data" / "architectures.yaml"


def run_cli(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess, as a user would."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "archclass", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(autouse=True)
def _private_database(tmp_path_factory, monkeypatch) -> Path:
    """No test may touch the user's real database or registry, whatever the environment says: every test
    gets its own data directory, ARCHCLASS_DB points into it (even when the user has set it), and
    ARCHCLASS_REGISTRY is unset so the bundled registry is used. Returns the data directory."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.setenv("ARCHCLASS_DB", str(home / "archclass" / "archclass.db"))
    monkeypatch.delenv("ARCHCLASS_REGISTRY", raising=False)
    return home
