"""The suite's own isolation (tests/conftest.py): no test touches the database or registry of the person
running it, whatever their environment says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def test_a_users_database_and_registry_are_never_used(tmp_path):
    """Run a test that writes through the default database with ARCHCLASS_DB and ARCHCLASS_REGISTRY set
    to the user's own files: neither may be touched."""
    user_db = tmp_path / "users.db"
    user_registry = tmp_path / "users-registry.yaml"
    user_registry.write_text("- this is not a registry\n")
    env = {**os.environ, "ARCHCLASS_DB": str(user_db), "ARCHCLASS_REGISTRY": str(user_registry)}
    target = f"{Path(__file__).relative_to(ROOT)}::test_the_default_database_is_private"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert not user_db.exists()


def test_the_default_database_is_private(_private_database, tmp_path_factory):
    """Writes a probe run into the default database: it must be the test's own, under pytest's temp dir."""
    from archclass.db import record_probe_run
    from archclass.db.location import resolve_url, sqlite_file

    path = sqlite_file(resolve_url(None))
    assert path is not None and path.is_relative_to(_private_database)
    assert path.is_relative_to(tmp_path_factory.getbasetemp())
    assert "ARCHCLASS_REGISTRY" not in os.environ
    result = {"target": "mine.py:Mine", "device": "cpu", "dtype": "float32", "measurements": [{"length": 8}]}
    assert record_probe_run(result) >= 1
    assert path.is_file()
