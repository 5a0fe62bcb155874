"""How the database's answers read to a person: the `query` table, the `sync` and `db upgrade` lines.

Text and Rich tables only; the CLI prints them (JSON, CSV, Markdown and BibTeX are in db.export).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from archclass.db.migrate import UpgradeReport
    from archclass.db.sync import SyncResult

QUERY_COLUMNS = (
    "name", "year", "family", "placement", "E", "C", "R", "per step", "state", "confidence", "citation",
)  # fmt: skip


def records_table(records: list[dict[str, Any]]) -> Table:
    """`query`: one row per record, flags as yes/no, a recipe reading marked, the paper cited."""
    table = Table(title=f"{len(records)} architecture{'s' if len(records) != 1 else ''}")
    table.add_column("id", no_wrap=True)  # never cut: it is what the user types next
    for column in QUERY_COLUMNS:
        table.add_column(column)
    for record in records:
        flags = ["yes" if record[p] else "no" for p in ("efficient", "compact", "recall")]
        citation = f"arXiv:{record['arxiv']}" if record["arxiv"] else (record["url"] or "")
        placement = record["placement"] + (" (recipe)" if record["reading"] == "recipe" else "")
        cells = (record["id"], record["name"], str(record["year"]), record["family"], placement, *flags)
        scaling = (record["per_step_compute"] or "hybrid", record["state_size"] or "hybrid", record["confidence"])
        table.add_row(*(escape(cell) for cell in (*cells, *scaling, citation)))
    return table


def sync_lines(result: SyncResult) -> list[str]:
    """`sync`: what was written where, how long it took, and the runs loaded from results files."""
    rows = result.counts
    change = "registry changed" if result.changed else "registry unchanged"
    return [
        f"synced {rows['architectures']} entries ({rows['aliases']} aliases, {rows['architecture_tags']} tags, "
        f"{rows['hybrid_components']} hybrid components, {rows['rule_firings']} rule firings) from "
        f"{result.registry} into {result.url} in {result.seconds:.2f} s ({change})",
        *(f"loaded {count} runs from {source}" for source, count in (result.results or {}).items()),
    ]


def upgrade_line(report: UpgradeReport) -> str:
    """`db upgrade`: the revisions before and after, or that there was nothing to do."""
    if report.upgraded:
        before = report.previous_revision or "an empty database"
        return f"{report.database}: upgraded from {before} to {report.current_revision} (head)"
    return f"{report.database}: already at head {report.head_revision}"
