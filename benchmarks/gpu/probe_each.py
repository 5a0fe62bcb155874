"""Probe every reference on the GPU one at a time, keeping each result as soon as it exists.

`archclass probe --all` writes its JSON only at the end, so a run cut by the device's time limit keeps
nothing (the first realistic-size run, 2026-12-03, was cut at 340 s and returned no result). Here each
reference's result is appended to results.jsonl when it is done, each reference gets its own time limit
(SIGALRM, so a reference whose parallel form does not fit and falls back to stepping 131k tokens cannot
eat the budget of the rest), and no reference is started after the deadline. Attention, GQA, MQA and
MLA come first: they are the ones the floor comparison is about.

    python benchmarks/gpu/probe_each.py --out DIR [--deadline 330] [--per-target 40] [--sampled 4]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

FIRST = ["softmax-attention", "gqa", "mqa", "mla"]
"""The four whose step must come within 2x of the floor at 65,536 (issue 13): first, so a cut run has them."""
LAST = [
    "hyena", "memorizing-transformers", "native-sparse-attention", "log-linear-attention", "sliding-window-attention",
    "streamingllm", "h2o", "samba", "jamba",
]  # fmt: skip
"""The growing-state and ring-buffer references, which reach each length by a prefill from the start, and
the hybrids, whose Mamba layers' PyTorch scan is the slowest prefill; the recurrent references between
reach each length by replaying a captured step and take seconds."""


class TargetTimeout(BaseException):
    """Not an Exception: the probe turns a module's exceptions into errors and falls back from a failed
    CUDA-graph capture, and either would swallow the time limit (the 2026-12-03 run's h2o ran 75 s
    against a 40 s limit)."""


def _alarm(signum: int, frame: Any) -> None:
    raise TargetTimeout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lengths", default="1024,8192,16384,32768,65536,131072")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sampled", type=int, default=4, help="seeded positions counted beyond the windows")
    parser.add_argument("--count-budget", type=int, default=300, help="operations counted at every position")
    parser.add_argument("--per-target", type=int, default=40, help="seconds one reference may take")
    parser.add_argument("--deadline", type=float, default=330, help="start no reference after this many seconds")
    parser.add_argument("--size", default=None)
    parser.add_argument("--device", default="cuda", help="cpu only to smoke-test this script")
    parser.add_argument("--only", default="", help="comma-separated references (default: every one)")
    args = parser.parse_args()

    import torch

    from archclass.errors import ArchclassError
    from archclass.probe import probe_targets
    from archclass.probe.runner import CostScan
    from archclass.reference import catalog

    args.out.mkdir(parents=True, exist_ok=True)
    lines = args.out / "results.jsonl"
    lengths = [int(t) for t in args.lengths.split(",")]

    def order(name: str) -> tuple[int, int, str]:
        if name in FIRST:
            return 0, FIRST.index(name), name
        return (2, LAST.index(name), name) if name in LAST else (1, 0, name)

    chosen = [name for name in args.only.split(",") if name]
    unknown = sorted(set(chosen) - set(catalog()))
    if unknown:
        parser.error(f"unknown references: {', '.join(unknown)}")
    names = sorted(chosen or catalog(), key=order)
    signal.signal(signal.SIGALRM, _alarm)
    start = time.monotonic()
    results: list[dict[str, Any]] = []
    for name in names:
        if time.monotonic() - start > args.deadline:
            print(f"{name}: not started (deadline of {args.deadline:.0f} s reached)", flush=True)
            continue
        began = time.monotonic()
        signal.alarm(args.per_target)
        try:
            found = probe_targets(
                [name], device=args.device, lengths=lengths, repeats=args.repeats, size=args.size,
                scan=CostScan(budget=args.count_budget, sampled=args.sampled),
            )[0].as_dict()  # fmt: skip
            outcome = "ok"
        except TargetTimeout:
            found, outcome = (
                {"target": name, "error": f"over the {args.per_target} s limit of one reference"},
                "timeout",
            )
        except (ArchclassError, torch.OutOfMemoryError) as error:
            found, outcome = {"target": name, "error": str(error)}, "error"
        finally:
            signal.alarm(0)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
        found["probe_seconds"] = round(time.monotonic() - began, 1)
        with lines.open("a", encoding="utf-8") as sink:
            sink.write(json.dumps(found, default=str) + "\n")
        print(f"{name}: {outcome} in {found['probe_seconds']} s", flush=True)
        if outcome == "ok":
            results.append(found)
    (args.out / "probe_cuda.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    if results:
        from rich.console import Console

        from archclass.probe.report import claims_table, plot_results

        plot_results(results, args.out / "probe_cuda.png")
        Console(width=250).print(claims_table(results))
    print(f"{len(results)} of {len(names)} references probed in {time.monotonic() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
