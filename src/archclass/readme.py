"""The README's result tables, generated from the committed results so that they cannot drift.

Each table sits between two markers in README.md, ``<!-- results:NAME -->`` and
``<!-- /results:NAME -->``; `archclass readme` rewrites what lies between them and `archclass readme
--check` fails when a table differs from what the results give. The tables are built here from the
JSON and markdown files under results/, with no torch, so the registry CI job can check them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError

#: The references the README shows from the GPU probe (the full table is in results/probe/README.md).
PROBE_ROWS = (
    "softmax-attention",
    "gqa",
    "mla",
    "native-sparse-attention",
    "log-linear-attention",
    "mamba",
    "gated-deltanet",
    "rwkv-7",
)


def _marker(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- results:{name} -->\n)(.*?)(<!-- /results:{name} -->)", re.DOTALL)


def _micro(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e6:,.0f} µs"


def _times(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}×"


def probe_table(root: Path) -> str:
    """A few rows of the GPU probe: placement, state and the growth of state, step cost and time."""
    runs = {run["target"]: run for run in json.loads((root / "results/probe/probe_cuda.json").read_text())}
    lines = [
        "| reference | measured | state at the longest T | state growth | step cost growth "
        "| step time, first → last T | time / floor at the last T |",
        "| --- | --- | ---: | --- | --- | ---: | ---: |",
    ]
    for name in PROBE_ROWS:
        run = runs.get(name)
        if run is None:
            continue
        first, last = run["measurements"][0], run["measurements"][-1]
        lines.append(
            f"| {name} | {run['classification']['placement']} | {last['state_scalars']:,} at {last['length']:,} "
            f"| {run['fit']['state']['growth']} | {run['fit']['compute']['growth']} "
            f"| {_micro(first.get('step_seconds'))} → {_micro(last.get('step_seconds'))} "
            f"| {_times(last.get('over_floor'))} |"
        )
    return "\n".join(lines) + "\n"


def recall_table(root: Path) -> str:
    """The merged recall table, as `archclass recall-report` wrote it to results/recall/results.md."""
    text = (root / "results/recall/results.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("|")]
    if not rows:
        raise ArchclassError("results/recall/results.md has no table; run 'archclass recall-report'")
    return "\n".join(rows) + "\n"


def census_table(root: Path) -> str:
    """The transformers census in numbers, and every mapped model type whose measurement disagrees."""
    rows: list[dict[str, Any]] = []
    for path in sorted((root / "results/hf").glob("census*.json")):
        rows = json.loads(path.read_text(encoding="utf-8"))
        source = path.name
    if not rows:
        return "No census has been committed yet (`archclass probe --hf-all --out results/hf/census.json`).\n"
    classified = [r for r in rows if r["placement"]]
    mapped = [r for r in rows if r["registry_id"]]
    agree = [r for r in mapped if r["agrees"]]
    disagree = [r for r in mapped if r["agrees"] is False]
    lines = [
        f"| census (`results/hf/{source}`) | model types |",
        "| --- | ---: |",
        f"| causal-LM model types | {len(rows)} |",
        f"| classified from their own caches | {len(classified)} |",
        f"| with a one-line reason instead | {len(rows) - len(classified)} |",
        f"| mapped to registry entries | {len(mapped)} |",
        f"| measured and registry agree | {len(agree)} |",
        f"| disagree | {len(disagree)} |",
    ]
    return "\n".join(lines) + "\n"


SECTIONS: dict[str, Callable[[Path], str]] = {"probe": probe_table, "recall": recall_table, "census": census_table}


def render(text: str, root: Path) -> str:
    """README text with every marked section regenerated."""
    for name, build in SECTIONS.items():
        pattern = _marker(name)
        if not pattern.search(text):
            raise ArchclassError(f"README.md has no '<!-- results:{name} -->' section markers")
        table = build(root)
        match = pattern.search(text)
        assert match is not None
        text = text[: match.start(2)] + table + text[match.end(2) :]
    return text


def stale_sections(readme: Path, root: Path) -> list[str]:
    """Names of the sections whose committed table differs from the results."""
    text = readme.read_text(encoding="utf-8")
    fresh = render(text, root)
    return [
        name
        for name in SECTIONS
        if (_marker(name).search(text) or _never()).group(2) != (_marker(name).search(fresh) or _never()).group(2)
    ]


def _never() -> Any:
    raise ArchclassError("README.md lost a section marker while rendering")


def update(readme: Path, root: Path) -> bool:
    """Rewrite the README's result sections; True when something changed."""
    text = readme.read_text(encoding="utf-8")
    fresh = render(text, root)
    if fresh == text:
        return False
    readme.write_text(fresh, encoding="utf-8")
    return True
