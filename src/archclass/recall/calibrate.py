"""Size the published-scale sweep from measurements: train a few models concurrently for a fixed time
and print, per run, its throughput, when its loss left the first plateau, and its accuracy per K.

    python -m archclass.recall.calibrate --seconds 150 --out /tmp/calibration

Every run shares the device with the others (as the sweep's runs will), so tokens/s is per process
under that sharing. Runs are cut at --seconds of training; their steps are set so the cosine schedule
ends near there at the expected speed (--steps).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from archclass.recall import published
from archclass.recall.printing import training_line as describe


def calibration_configs(
    archs: list[str], d_model: int, lrs: list[float], vocabs: list[int], steps: int, seconds: float, device: str
) -> list[Any]:
    """Every architecture at every lr at the first vocabulary; at the others, the middle lr only."""
    configs = []
    for index, vocab in enumerate(vocabs):
        for arch in archs:
            for lr in lrs if index == 0 else [lrs[len(lrs) // 2]]:
                configs.append(
                    published.base_config(
                        arch=arch, d_model=d_model, vocab=vocab, lr=lr, steps=steps, max_seconds=seconds,
                        device=device, bf16=device.startswith("cuda"), eval_every=100, eval_sequences=128,
                    )
                )  # fmt: skip
    return configs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", help="architectures (default: attention + the compact four)")
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--lr", type=float, action="append", help="learning rates (default 1e-3, 3e-3, 1e-2)")
    parser.add_argument("--vocab", type=int, action="append", help="V values (default 1024, 8192)")
    parser.add_argument("--steps", type=int, default=3000, help="planned steps (the cosine schedule's length)")
    parser.add_argument("--seconds", type=float, default=150.0, help="training time per run")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", type=Path, required=True, help="folder for runs.jsonl")
    args = parser.parse_args(argv)
    from archclass.recall.sweep import run_configs

    configs = calibration_configs(
        args.arch or ["softmax-attention", *published.COMPACT], args.d_model, args.lr or list(published.LRS),
        args.vocab or [published.VOCAB, 8192], args.steps, args.seconds, args.device,
    )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "runs.jsonl"

    def finished(run: dict[str, Any]) -> None:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(run) + "\n")
        print(describe(run), flush=True)

    print(f"calibration: {len(configs)} runs at once, {args.seconds:g} s of training each", flush=True)
    runs = run_configs([replace(c) for c in configs], workers=len(configs), progress=finished, keep_going=True)
    print("\nsummary (sorted):")
    for run in sorted(runs, key=lambda r: (r["vocab"], r["arch"], r["lr"])):
        print(describe(run))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
