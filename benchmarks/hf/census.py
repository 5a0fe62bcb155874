"""The transformers census: every causal-LM model type probed small, compared with the registry.

Usage: python benchmarks/hf/census.py --out results/hf/census.json [--workers N] [--device auto]
(`archclass probe --hf-all` runs the same census.) Prints the wall time at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from archclass.probe.hf_census import census


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--device", default="cpu", help="cpu, or auto: fla's types on the GPU")
    parser.add_argument("--only", default="", help="comma-separated model types (default: all)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per model type")
    parser.add_argument("--dtype", default="float32", help="bfloat16 for fla's types on the GPU")
    parser.add_argument("--fla-only", action="store_true", help="only the types flash-linear-attention registers")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from transformers.utils import logging

    logging.set_verbosity_error()
    start = time.time()
    types = args.only.split(",") if args.only else None
    if args.fla_only:
        from archclass.probe.hf_config import causal_lm_types, is_fla_type

        types = [t for t in causal_lm_types() if is_fla_type(t)]
    # Each row is also appended to OUT's .partial.jsonl as it comes: a run cut short (the H200 run of
    # fla's types on 2026-12-03 was killed at 240 s) keeps the types it finished.
    partial = args.out.with_suffix(".partial.jsonl")
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text("", encoding="utf-8")

    def keep(row: dict) -> None:
        with partial.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(row) + "\n")

    rows = census(
        types=types,
        on_row=keep,
        workers=args.workers,
        device=args.device,
        timeout=args.timeout,
        dtype=args.dtype,
        progress=lambda t: print(f"{time.time() - start:6.0f}s {t}", file=sys.stderr, flush=True),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    classified = sum(1 for r in rows if r["placement"])
    print(f"{classified}/{len(rows)} classified in {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
