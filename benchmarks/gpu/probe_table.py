"""The table of results/probe/README.md, printed from results/probe/results.jsonl.

    python benchmarks/gpu/probe_table.py [results/probe/results.jsonl] [--at 65536]

One row per reference: the measured placement, the state's growth, the state in MB at T = AT, the step
at the shortest and the longest length, the floor and time / floor at T = AT, the counted work's growth,
the wall-time fit as the run made it, and the fit made again now over T >= 8,192 (fit_growth, steady
CUDA-graph timings), so a change of the fitting rule shows in the last column without a GPU.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HEADER = (
    "| reference | measured | state | state at {at} (MB) | step, T = {first} → {last} (µs) | floor at {at} (µs) "
    "| time / floor at {at} | counted work | time fit, as run | time fit, refitted now |"
)


def _refit(points: list[dict[str, Any]]) -> str:
    from archclass.probe.fit import fit_growth

    timed = [(p["length"], p["step_seconds"]) for p in points if p.get("step_seconds") and p["length"] >= 8192]
    if len(timed) < 3:
        return "too few lengths"
    return fit_growth([t for t, _ in timed], [s for _, s in timed], exact=False, steady=True).growth


def rows(results: list[dict[str, Any]], at: int) -> list[str]:
    lines = []
    for result in results:
        name = result["target"]
        if "error" in result:
            lines.append(f"| {name} | error: {result['error'][:80]} | | | | | | | | |")
            continue
        points = sorted(result["measurements"], key=lambda p: p["length"])
        here = next((p for p in points if p["length"] == at), None)
        timed = [p for p in points if p.get("step_seconds")]
        steps = f"{timed[0]['step_seconds'] * 1e6:,.0f} → {timed[-1]['step_seconds'] * 1e6:,.0f}" if timed else ""
        fit = result["fit"]
        lines.append(
            "| "
            + " | ".join(
                [
                    name,
                    result["classification"]["placement"] or "none",
                    fit["state"]["growth"],
                    f"{here['state_bytes'] / 1e6:,.1f}" if here else "",
                    steps,
                    f"{here['floor_seconds'] * 1e6:,.0f}" if here and here.get("floor_seconds") else "",
                    f"{here['over_floor']:.2f}×" if here and here.get("over_floor") else "",
                    fit["compute"]["growth"],
                    fit["time"]["growth"] if fit.get("time") else "",
                    _refit(points),
                ]
            )
            + " |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="?", default=Path("results/probe/results.jsonl"))
    parser.add_argument("--at", type=int, default=65536)
    args = parser.parse_args()
    results = [json.loads(line) for line in args.results.read_text(encoding="utf-8").splitlines() if line.strip()]
    lengths = sorted({p["length"] for r in results for p in r.get("measurements", []) if p.get("step_seconds")})
    print(HEADER.format(at=f"{args.at:,}", first=f"{lengths[0]:,}", last=f"{lengths[-1]:,}"))
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |")
    print("\n".join(rows(results, args.at)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
