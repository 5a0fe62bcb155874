"""What `query`, `sync` and `db upgrade` print, from the records and reports the db package returns."""

from __future__ import annotations

from rich.console import Console

from archclass.db.migrate import UpgradeReport
from archclass.db.report import records_table, sync_lines, upgrade_line
from archclass.db.sync import SyncResult


def _record(**changes):
    record = {
        "id": "retnet", "name": "RetNet", "year": 2023, "family": "linear-rnn", "placement": "EC",
        "efficient": True, "compact": True, "recall": False, "reading": "fixed", "per_step_compute": "O(d^2)",
        "state_size": "O(d^2)", "confidence": "high", "arxiv": "2307.08621", "url": None,
    }  # fmt: skip
    return {**record, **changes}


def test_the_query_table_marks_recipe_readings_and_hybrids():
    console = Console(width=250)
    records = [_record(), _record(id="jamba", reading="recipe", placement="R", per_step_compute=None)]
    with console.capture() as captured:
        console.print(records_table(records))
    text = captured.get()
    assert "2 architectures" in text and "R (recipe)" in text and "hybrid" in text and "arXiv:2307.08621" in text


def test_sync_and_upgrade_lines():
    counts = {"architectures": 2, "aliases": 3, "architecture_tags": 4, "hybrid_components": 1, "rule_firings": 6}
    result = SyncResult(
        url="sqlite:///x.db", registry="r.yaml", registry_sha256="b", previous_registry_sha256="a", counts=counts,
        results={"results/a.json": 5},
    )
    lines = sync_lines(result)
    assert lines[0].startswith("synced 2 entries (3 aliases, 4 tags, 1 hybrid components, 6 rule firings) from r.yaml")
    assert "into sqlite:///x.db in 0.00 s" in lines[0]
    assert lines[1] == "loaded 5 runs from results/a.json"
    fresh = UpgradeReport(database="x.db", previous_revision=None, current_revision="0004", head_revision="0004")
    assert upgrade_line(fresh) == "x.db: upgraded from an empty database to 0004 (head)"
    assert lines[0].endswith("(registry changed)")
