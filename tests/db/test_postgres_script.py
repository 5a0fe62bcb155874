""".ci/postgres.sh runs as root in CI and keeps its cluster at a predictable path under /tmp: it must never
follow a planted symlink, or take over a directory it did not make, to chown or chmod it."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from ..conftest import ROOT

SCRIPT = ROOT / ".ci" / "postgres.sh"


def _run(pg_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARCHCLASS_PG_DIR": str(pg_dir), "ARCHCLASS_PG_PORT": "1"}
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)


def _state(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def _refused(result: subprocess.CompletedProcess[str], why: str) -> None:
    assert result.returncode != 0 and result.stdout == ""  # no export line for eval to run
    assert "refusing" in result.stderr and why in result.stderr


def test_a_planted_symlink_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o755)
    (victim / "keep.txt").write_text("mine")
    before = _state(victim)
    link = tmp_path / "archclass-pg"
    link.symlink_to(victim)
    _refused(_run(link), "symbolic link")
    assert _state(victim) == before and sorted(p.name for p in victim.iterdir()) == ["keep.txt"]


def test_a_file_at_the_path_is_refused(tmp_path):
    path = tmp_path / "archclass-pg"
    path.write_text("not a directory")
    _refused(_run(path), "not a directory")
    assert path.read_text() == "not a directory"


def test_a_directory_it_did_not_make_is_refused(tmp_path):
    path = tmp_path / "archclass-pg"
    path.mkdir(mode=0o755)
    if os.getuid() == 0:
        os.chown(path, 65534, 65534)  # nobody's
    before = _state(path)
    _refused(_run(path), "owned by" if os.getuid() == 0 else "mode is 755")
    assert _state(path) == before


@pytest.mark.skipif(os.getuid() != 0, reason="only root can hand a directory to the postgres user")
def test_a_data_directory_symlink_inside_is_refused(tmp_path):
    import pwd

    postgres = pwd.getpwnam("postgres")
    path = tmp_path / "archclass-pg"
    path.mkdir(mode=0o700)
    os.chown(path, postgres.pw_uid, postgres.pw_gid)
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o755)
    before = _state(victim)
    (path / "data").symlink_to(victim)
    _refused(_run(path), "data directory is a symbolic link")
    assert _state(victim) == before
