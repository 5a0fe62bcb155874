"""A recall sweep's files: the runs kept as they finish, the results written at the end, and nothing a
user had lost.

A folder holds `results.json` (every run, the summary and how they were made), `results.md`,
`capacity.png`, and, while a sweep runs, `runs.partial.jsonl` (one finished run a line, so a sweep cut
short keeps what it trained). A sweep never writes over an existing results.json unless told to
(resume or force), never truncates a partial file that holds runs unless told to, and deletes its
partial file only once every run in it is in results.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError

RESULTS = "results.json"
PARTIAL = "runs.partial.jsonl"


def read_runs(path: Path) -> list[dict[str, Any]]:
    """Runs from a sweep's runs.partial.jsonl (one run a line) or results.json (its "runs")."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ArchclassError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        if path.suffix == ".json":
            runs = json.loads(text)["runs"]
        else:
            runs = [json.loads(line) for line in text.splitlines() if line.strip()]
        if not all(isinstance(run, dict) and "arch" in run and "seed" in run for run in runs):
            raise TypeError("a run without arch or seed")
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ArchclassError(f"{path}: not a recall sweep's runs.partial.jsonl or results.json ({error})") from None
    return list(runs)


def run_key(run: Mapping[str, Any]) -> tuple[Any, ...]:
    """What identifies a run within a sweep: architecture, size, hyperparameters and seed (and, for runs
    trained on a (T, K) mixture, whose sweeps try several, the learning rate)."""
    overrides = tuple(sorted((key, json.dumps(value)) for key, value in run.get("overrides", {}).items()))
    key = (run["arch"], run["d_model"], run["seed"], run["vocab"], run["seq_len"], run["n_layers"], overrides)
    return (*key, ("lr", run.get("lr"))) if run.get("train_mix") else key


def refuse_overwrite(out: Path, *, allowed: bool, flag: str) -> None:
    """Refuse to write into a folder whose results.json exists, unless `allowed` (the user said so)."""
    if (out / RESULTS).exists() and not allowed:
        raise ArchclassError(
            f"{out / RESULTS} exists and would be overwritten; choose another --out, or pass {flag} to replace it"
        )


class PartialLog:
    """runs.partial.jsonl of one sweep: runs appended as they finish, removed once all are in results."""

    def __init__(self, out: Path, *, resume: Path | None) -> None:
        self.path = out / PARTIAL
        self.continues = resume is not None and self.path.exists() and resume.resolve() == self.path.resolve()

    def refuse_discarding(self, *, force: bool) -> None:
        """Refuse to start over a partial log that holds runs, unless resuming it or told to (force)."""
        held = len(read_runs(self.path)) if self.path.exists() and not self.continues else 0
        if held and not force:
            raise ArchclassError(
                f"{self.path} holds {held} runs of a sweep cut short; resume it with --resume {self.path}, "
                "or pass --force to discard them"
            )

    def start(self, earlier: Iterable[Mapping[str, Any]]) -> None:
        """Begin the log with the runs kept from earlier (a resumed partial log already holds them)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.continues:
            self.path.write_text("".join(json.dumps(run) + "\n" for run in earlier), encoding="utf-8")

    def append(self, run: Mapping[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(run) + "\n")

    def finish(self, written: Iterable[Mapping[str, Any]]) -> str | None:
        """Delete the log if every run in it is among `written`; else keep it and say why."""
        if not self.path.exists():
            return None
        kept = {run_key(run) for run in written}
        missing = [run for run in read_runs(self.path) if run_key(run) not in kept]
        if missing:
            return f"{self.path} kept: {len(missing)} of its runs are not part of this sweep's results"
        self.path.unlink()
        return None


def merge_sources(
    sources: list[Path], exclude: Iterable[tuple[str, str]] = (), devices: Mapping[str, str] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The runs of several sweep files as one list, and what each file gave.

    exclude: (architecture, file name) pairs whose runs are left out (a family re-run elsewhere).
    devices: file name -> device, for runs recorded before runs carried their device. A run found in
    two files is an error: a merged sweep counts each run once.
    """
    dropped, devices = set(exclude), dict(devices or {})
    runs: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], Path] = {}
    described = []
    for source in sources:
        kept = [run for run in read_runs(source) if (run.get("arch"), source.name) not in dropped]
        for run in kept:
            if "device" not in run and source.name in devices:
                run["device"] = devices[source.name]
            key = run_key(run)
            if key in seen:
                raise ArchclassError(f"{source}: run {key[:3]} is also in {seen[key]}; give each run once")
            seen[key] = source
        runs.extend(kept)
        described.append({"path": str(source), "runs": len(kept)})
    if not runs:
        raise ArchclassError("no runs in the given files (after --exclude)")
    return runs, described
