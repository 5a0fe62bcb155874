"""A recall sweep kept in the database too, beside its files: every run linked to the registry entry of
the reference implementation it trained."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archclass.recall.experiment import RecallResult


def store_sweep(result: RecallResult, *, db: str | None = None) -> list[int]:
    """Record the runs of RESULT in the database DB (default: the user's) in one transaction, all or none;
    return their ids. Problems are one-line ArchclassErrors."""
    from archclass.db import record_recall_runs
    from archclass.reference import catalog

    return record_recall_runs(
        result.runs,
        device=result.meta["device"],
        target_accuracy=result.meta["target_accuracy"],
        command=result.meta["command"],
        arch_ids={spec.name: spec.arch_id for spec in catalog().values()},
        db=db,
    )
