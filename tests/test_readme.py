"""The README's result tables are generated from results/ and checked (archclass.readme)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from archclass import readme
from archclass.errors import ArchclassError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def checkout(tmp_path):
    """A copy of the README and the results it is built from."""
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "results", tmp_path / "results")
    return tmp_path


def test_the_committed_readme_tables_are_current():
    assert readme.stale_sections(ROOT / "README.md", ROOT) == []


def test_a_changed_probe_result_makes_the_probe_table_stale_and_update_fixes_it(checkout):
    path = checkout / "results/probe/probe_cuda.json"
    runs = json.loads(path.read_text())
    target = next(run for run in runs if run["target"] == "mamba")
    target["measurements"][-1]["state_scalars"] += 1
    path.write_text(json.dumps(runs))
    assert readme.stale_sections(checkout / "README.md", checkout) == ["probe"]
    assert readme.update(checkout / "README.md", checkout)
    assert readme.stale_sections(checkout / "README.md", checkout) == []
    assert f"{target['measurements'][-1]['state_scalars']:,}" in (checkout / "README.md").read_text()


def test_a_hand_edited_recall_table_is_stale(checkout):
    text = (checkout / "README.md").read_text()
    (checkout / "README.md").write_text(text.replace("| deltanet |", "| deltanet (edited) |", 1))
    assert readme.stale_sections(checkout / "README.md", checkout) == ["recall"]


def test_a_readme_without_markers_is_one_clear_error(checkout):
    (checkout / "README.md").write_text("# archclass\n")
    with pytest.raises(ArchclassError, match="results:probe"):
        readme.stale_sections(checkout / "README.md", checkout)


def test_cli_check_passes_on_the_checkout(cli):
    result = cli("readme", "--check")
    assert result.returncode == 0, result.stderr
