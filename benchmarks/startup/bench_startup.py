"""Cold start of `archclass classify --arch retnet` against importing the libraries it stands on.

The requirement: the median wall time of the command stays within 1.3x that of
`python -c "import sqlmodel, typer, rich, pydantic, yaml"`, measured in the same run, interleaved so
machine noise hits both alike. Usage: python benchmarks/startup/bench_startup.py [--runs 21] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

BASELINE = [sys.executable, "-c", "import sqlmodel, typer, rich, pydantic, yaml"]
COMMAND = [sys.executable, "-m", "archclass", "classify", "--arch", "retnet"]
LIMIT = 1.3


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    wall(BASELINE), wall(COMMAND)  # warm the page cache and the .pyc files
    baseline, command = [], []
    for _ in range(args.runs):
        baseline.append(wall(BASELINE))
        command.append(wall(COMMAND))
    result = {
        "runs": args.runs,
        "baseline_median_s": statistics.median(baseline),
        "classify_median_s": statistics.median(command),
    }
    result["ratio"] = result["classify_median_s"] / result["baseline_median_s"]
    result["limit"] = LIMIT
    result["ok"] = result["ratio"] <= LIMIT
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"baseline import  median {result['baseline_median_s'] * 1000:7.1f} ms")
        print(f"classify retnet  median {result['classify_median_s'] * 1000:7.1f} ms")
        print(f"ratio {result['ratio']:.2f} (limit {LIMIT})  {'OK' if result['ok'] else 'TOO SLOW'}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
