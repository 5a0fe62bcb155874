"""Merge a partial GPU probe run (probe_each.py --only ...) into the committed results.

    python benchmarks/gpu/merge_probe.py NEW_RESULTS_JSONL [--into results/probe]

Each reference's line in NEW replaces its line in INTO/results.jsonl (the others are kept as they
were measured, with their own commit and date in INTO/README.md); probe_cuda.json (the references
measured without error) and probe_cuda.png are rewritten from the merged lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path, help="results.jsonl of the partial run")
    parser.add_argument("--into", type=Path, default=Path("results/probe"))
    args = parser.parse_args()
    lines = args.into / "results.jsonl"
    for path in (args.new, lines):
        if not path.is_file():
            print(f"error: {path} does not exist", file=sys.stderr)
            return 1
    merged = {row["target"]: row for row in map(json.loads, lines.read_text(encoding="utf-8").splitlines())}
    new = [json.loads(line) for line in args.new.read_text(encoding="utf-8").splitlines()]
    merged.update({row["target"]: row for row in new})
    lines.write_text("".join(json.dumps(row) + "\n" for row in merged.values()), encoding="utf-8")
    measured = [row for row in merged.values() if "error" not in row]
    (args.into / "probe_cuda.json").write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")
    from archclass.probe.report import plot_results

    plot_results(measured, args.into / "probe_cuda.png")
    print(f"replaced {', '.join(row['target'] for row in new)}; {len(measured)} of {len(merged)} references measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
