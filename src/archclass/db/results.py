"""The measured runs committed under results/, loaded into the database by ``archclass sync --results``.

Two files: ``results/probe/probe_cuda.json`` (a list of ``ProbeResult.as_dict()``, as ``archclass probe
--out`` writes it) and ``results/recall/results.json`` (``{"meta", "summary", "runs"}``, as
``archclass recall`` and ``recall-report`` write it). Each run remembers its file in ``source``; loading
replaces the runs loaded from the same files before, all files in one transaction, so loading twice
gives the same rows and a bad file changes nothing. Recall runs are linked to the registry through its
entries' ``reference`` (the reference implementation each was trained with).

When a run was measured: the recall file's ``meta.date``; the probe file records none, so its
modification time stands in.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archclass.errors import ArchclassError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from archclass.db.models import ProbeRunRow, RecallRunRow

#: The committed results files, relative to the checkout.
COMMITTED = ("results/probe/probe_cuda.json", "results/recall/results.json")


def load_committed_results(engine: Engine, root: Path | None = None) -> dict[str, int]:
    """Load every COMMITTED file under ROOT (default: the archclass checkout); return the runs per file."""
    from archclass.db.engine import write_transaction
    from archclass.paths import SOURCE_ROOT

    base = root or SOURCE_ROOT
    contents = {relative: _read(base / relative, relative) for relative in COMMITTED}
    loaded = {}
    with write_transaction(engine) as connection:
        for relative, data in contents.items():
            loaded[relative] = _replace(connection, relative, _runs(data, relative, base / relative, connection))
    return loaded


def _read(path: Path, relative: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArchclassError(
            f"{relative} is not there: --results loads the results/ directory of an archclass checkout"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArchclassError(f"cannot read {relative}: {error}") from None


def _runs(data: Any, relative: str, path: Path, connection: Connection) -> list[ProbeRunRow] | list[RecallRunRow]:
    from archclass.db.runs import probe_run, recall_run_rows

    try:
        if isinstance(data, list):
            when = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            return [probe_run(result, created_at=when, source=relative) for result in data]
        if isinstance(data, dict) and isinstance(data.get("runs"), list) and isinstance(data.get("meta"), dict):
            meta = data["meta"]
            return recall_run_rows(
                data["runs"],
                target_accuracy=meta.get("target_accuracy"),  # type: ignore[arg-type]  # checked there
                sweep_id=relative,
                command=meta.get("command"),
                arch_ids=_reference_ids(connection),
                created_at=datetime.fromisoformat(meta["date"]) if meta.get("date") else None,
                source=relative,
            )
    except (ArchclassError, ValueError) as error:
        raise ArchclassError(f"{relative}: {error}") from None
    raise ArchclassError(f"{relative} is neither a probe results list nor a recall results.json")


def _reference_ids(connection: Connection) -> dict[str, str]:
    """Reference implementation name to registry id, for the names exactly one entry uses."""
    from collections import Counter

    from sqlalchemy import select

    from archclass.db.models import ArchitectureRow, table

    architectures = table(ArchitectureRow)
    pairs = connection.execute(
        select(architectures.c.reference, architectures.c.id).where(architectures.c.reference.is_not(None))
    ).all()
    uses = Counter(reference for reference, _ in pairs)
    return {reference: arch_id for reference, arch_id in pairs if uses[reference] == 1}


def _replace(connection: Connection, relative: str, runs: list[ProbeRunRow] | list[RecallRunRow]) -> int:
    from archclass.db.models import ProbeRunRow, RecallRunRow, table
    from archclass.db.runs import store_runs

    for model in (ProbeRunRow, RecallRunRow):
        runs_table = table(model)
        connection.execute(runs_table.delete().where(runs_table.c.source == relative))
    return len(store_runs(connection, runs))
