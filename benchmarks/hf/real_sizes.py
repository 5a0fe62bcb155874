"""Single blocks of deployed models at their real sizes, probed on CUDA through their own caches.

Usage (on a GPU machine, from the repo root):
    python benchmarks/hf/real_sizes.py --out results/hf/real_sizes.json [--lengths 4096,16384,65536]
Each configs/*.json holds the sizes of the released config.json (README.md says where each comes from);
`--layers 1` keeps one layer of each kind (Jamba: one period of eight layers). Results are written after
every model, so a model that fails or runs out of memory leaves the others' numbers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError
from archclass.probe.hf import probe_hf

CONFIGS = Path(__file__).parent / "configs"


def _probe(path: Path, layers: int, lengths: list[int], sender: Any) -> None:
    try:
        result = probe_hf(
            config_path=path, layers=layers, lengths=lengths, device="cuda", dtype="bfloat16", check=False, repeats=20
        )
        sender.send({"config": path.stem, **result.as_dict()})
    except ArchclassError as error:  # HFProbeError, or a refused argument such as too few lengths
        sender.send({"config": path.stem, "error": str(error), "error_kind": getattr(error, "kind", "usage")})


def _isolated(path: Path, layers: int, lengths: list[int]) -> dict[str, Any]:
    """One model per process: a device-side assert poisons a CUDA context for good."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_probe, args=(path, layers, lengths, sender))
    child.start()
    sender.close()
    try:
        return receiver.recv()
    except EOFError:
        return {
            "config": path.stem,
            "error": f"the probe process died (exit code {child.exitcode})",
            "error_kind": "crash",
        }
    finally:
        child.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lengths", default="4096,16384,65536")
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated config names")
    args = parser.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    rows = []
    names = args.only.split(",") if args.only else sorted(p.stem for p in CONFIGS.glob("*.json"))
    for path in (CONFIGS / f"{name}.json" for name in names):
        start = time.time()
        row = _isolated(path, args.layers, lengths)
        row["wall_seconds"] = round(time.time() - start, 1)
        rows.append(row)
        print(
            json.dumps(
                {
                    k: row.get(k)
                    for k in (
                        "config",
                        "placement",
                        "state_bytes",
                        "step_seconds",
                        "floor_seconds",
                        "timing",
                        "error",
                        "wall_seconds",
                    )
                }
            ),
            flush=True,
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    sys.exit(0)


if __name__ == "__main__":
    main()
