"""The published-scale MQAR protocol (Zoology, Arora et al. 2023, Figure 2), as this project runs it.

Zoology's Figure 2 trains 2-layer models of d_model 64..512 on a mixture of short, easy sequences and
longer, harder ones, and tests them on longer sequences with more pairs:

    train (T, K, examples): (64, 4, 100k), (128, 8, 20k), (256, 16, 20k), (256, 32, 20k), (256, 64, 20k)
    test:                    K up to 256 at T up to 1,024
    vocabulary 8,192 (keys from one half, values from the other), batch 256, lr swept over ~1e-3..3e-2,
    tens of epochs, the best learning rate kept per point.

The mixture is what gets a model off the first MQAR plateau (loss ln V, a uniform guess over values):
the (64, 4) sequences, over half of the examples, are easy enough for the model to learn first what a
value is and then which one follows a key; the longer ones then extend that. A fixed (512, K = 8..128)
batch kept every model, attention included, at ln V for 2,000 steps (results/recall/attempts/).

Differences from Zoology, and why:

* V counts the values (and, separately, the keys): V = 1,024 here means 1,024 keys and 1,024 values,
  2,048 + 4 token ids. Zoology's "vocab 8,192" is 4,096 keys and 4,096 values. The bound is written in
  the number of values, so V is what it needs. V = 4,096 is Zoology's setting; the calibration runs
  it to see whether its longer plateau fits the budget.
* Filler tokens come from 4 ids of their own, never from the key or value ranges (Zoology fills with
  random tokens of the whole vocabulary, `random_non_queries`). A filler that could be a key makes a
  query ambiguous for a reason the state does not cause.
* Values are drawn with replacement (Zoology: without), so every value is uniform and independent of
  the others, the setting in which the bound (K (A log2 V - 1) <= n p) holds.
* Queries may sit at any position after the pairs (Zoology: even offsets); the power law of the
  pair-to-query gap (a = 0.01) is Zoology's.
* Each training step draws one (T, K) of the mixture, with probability in proportion to its number
  of examples, and fills a whole batch with it; Zoology pads every sequence to the longest and
  shuffles them together. The expected mixture is the same; no padding is computed.
* Data are drawn fresh every step (a pure function of seed and step) instead of repeated epochs over
  100k fixed examples: no memorised training set, the same tokens per step.
* Testing is at one length, T = 1,024, for every K from 4 to 256 (Zoology tests K = 4..16 at 64,
  32 at 128, ..., 256 at 1,024): a compact model's state does not depend on T, and one length makes
  attention's state (and bound) the same at every K.
* Each mixer reads its input through a 4-tap short convolution, as in Zoology's models, and the MLP
  width is 4 d_model; positions are not embedded (the convolution and the causal mask carry order).
* The output head is tied to the token embedding, which starts at N(0, 0.02^2), as in Zoology's
  model; the mixers keep their own initialisation (Zoology re-initialises every linear layer). With
  an untied head, attention stayed at loss ln V = 6.93 for 400 CPU steps at V = 1,024 on this
  mixture; tied, it fell below 0.8 ln V by step 300 (results/recall/attempts/, 2026-12-03).
* Steps are bounded by the GPU budget (about 60 H200 minutes for the whole sweep), not by 64 epochs:
  STEPS below, with early stopping once every K is answered at 99%. A point that has not left the
  plateau is reported as such ("not located"), never as a capacity.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError
from archclass.recall.printing import training_line as describe

TRAIN_MIX: tuple[tuple[int, int, float], ...] = (
    (64, 4, 100_000),
    (128, 8, 20_000),
    (256, 16, 20_000),
    (256, 32, 20_000),
    (256, 64, 20_000),
)
"""Zoology's Figure 2 training mixture: (sequence length, K, number of examples as the weight)."""
TEST_SEQ_LEN = 1024
TEST_PAIRS = (4, 8, 16, 32, 64, 128, 256)
VOCAB = 1024
BATCH = 256
LRS = (1e-3, 3e-3, 1e-2)
STEPS = 4000
D_MODELS = (64, 128, 256, 512)
COMPACT = ("linear-attention", "gla", "deltanet", "mamba-2")
"""The compact families whose capacity is fitted against state: linear attention (no decay), GLA
(data-dependent diagonal decay; RetNet's fixed decay is its special case), DeltaNet (delta-rule
writes) and Mamba-2 (SSD: a scalar decay per head)."""
ANCHORS = ("softmax-attention", "hyena")
"""Attention (state grows with T: must solve every K) and Hyena (a gated long convolution whose
filters do not depend on the input: Zoology finds it fails as K grows); sliding windows (WINDOWS) in
part 3."""


def base_config(**changes: Any) -> Any:
    """The TrainConfig of the protocol (architecture, width, seed and lr filled in by the caller)."""
    from archclass.recall.train import TrainConfig

    config = TrainConfig(
        arch=COMPACT[0],
        d_model=D_MODELS[0],
        vocab=VOCAB,
        pairs=TEST_PAIRS,
        seq_len=TEST_SEQ_LEN,
        steps=STEPS,
        batch_size=BATCH,
        lr=LRS[1],
        eval_every=250,
        eval_sequences=256,
        device="cuda",
        bf16=True,
        train_mix=TRAIN_MIX,
    )
    return replace(config, **changes)


SECONDS_PER_RUN = 420.0
"""Training time of one run within a part (the rest of a 540 s part: start-up, final tests, writing)."""
ANCHOR_WIDTH = 128


def _runs(archs: tuple[str, ...], widths: tuple[int, ...], seeds: tuple[int, ...], lrs: tuple[float, ...]) -> list[Any]:
    return [
        base_config(arch=arch, d_model=width, seed=seed, lr=lr, max_seconds=SECONDS_PER_RUN)
        for seed in seeds
        for lr in lrs
        for arch in archs
        for width in widths
    ]


WINDOWS = (64, 256)
"""Sliding-window anchors at ANCHOR_WIDTH: the test's key-value pairs span up to 1,024 tokens, so a
window recalls only the pairs it still sees, whatever its width; its state is 2 d_model w."""


def _window(window: int) -> Any:
    return base_config(
        arch="sliding-window-attention", d_model=ANCHOR_WIDTH, seed=0, lr=LRS[1], max_seconds=SECONDS_PER_RUN,
        overrides={"window": window},
    )  # fmt: skip


def part_configs(part: int) -> list[Any]:
    """The runs of one part; parts are ordered so the first gives the most: every compact family at
    every size once, with the anchors; then the other seeds; then the other learning rates."""
    middle, low, high = LRS[1], LRS[0], LRS[2]
    parts = {
        1: _runs(COMPACT, D_MODELS, (0,), (middle,)) + _runs(ANCHORS, (ANCHOR_WIDTH,), (0,), (middle,)),
        2: _runs(COMPACT, D_MODELS, (1,), (middle,)) + _runs(("softmax-attention",), (64,), (0,), (middle,)),
        3: _runs(COMPACT, D_MODELS, (2,), (middle,))
        + _runs(("hyena",), (64, 256), (0,), (middle,))
        + [_window(window) for window in WINDOWS],
        4: _runs(COMPACT, D_MODELS, (0,), (high,)),
        5: _runs(COMPACT, D_MODELS, (0,), (low,)),
        6: _runs(COMPACT, D_MODELS, (1,), (high,)),
        7: _runs(COMPACT, D_MODELS, (2,), (high,)),
    }
    if part not in parts:
        raise ValueError(f"part must be one of {sorted(parts)}, not {part}")
    return parts[part]


def run_part(part: int, out: Path, resume: Path | None, workers: int, device: str, seconds: float | None) -> int:
    """Train the runs of `part` not already in `resume`, all at once, keeping each as it finishes in
    out/runs.partial.jsonl (the earlier runs first, so the file alone resumes the next part)."""
    configs = [
        replace(c, device=device, bf16=device.startswith("cuda"), max_seconds=seconds or c.max_seconds)
        for c in part_configs(part)
    ]
    print(f"part {part}:", end=" ", flush=True)
    return train_into(configs, out, resume, workers)


def train_into(configs: list[Any], out: Path, resume: Path | None, workers: int = 0) -> int:
    """Train the configurations not already in `resume`, keeping each as it finishes."""
    from archclass.recall.files import PartialLog, read_runs, run_key
    from archclass.recall.sweep import run_configs

    earlier = read_runs(resume) if resume else []
    done = {run_key(run) for run in earlier}
    todo = [c for c in configs if run_key(asdict(c)) not in done]
    log = PartialLog(out, resume=resume)
    log.start(earlier)
    print(f"{len(configs) - len(todo)} runs already done, {len(todo)} to train", flush=True)

    failed = out / "failed.jsonl"

    def finished(run: dict[str, Any]) -> None:
        if "error" in run:  # kept apart, so that --resume trains it again and the report never sees it
            with failed.open("a", encoding="utf-8") as stream:
                stream.write(json.dumps(run) + "\n")
            print(f"{run['arch']}  d={run['d_model']}  seed={run['seed']}  lr={run['lr']:g}  failed: {run['error']}")
            return
        log.append(run)
        print(describe(run), flush=True)

    if todo:
        # One run out of memory must not lose the others: on 2026-12-03 the first part's 18 runs shared
        # the H200, one ran out of memory in its final test at 441 s, and the part kept only one run.
        run_configs(todo, workers=workers or len(todo), progress=finished, keep_going=True)
    return len(todo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The published-scale recall sweep, in parts.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train one part (resumable)")
    run.add_argument("--part", type=int, required=True)
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--resume", type=Path)
    run.add_argument("--workers", type=int, default=0, help="processes at once (default: every run of the part)")
    run.add_argument("--device", default="cuda")
    run.add_argument("--seconds", type=float, help=f"training seconds per run (default {SECONDS_PER_RUN:g})")
    report = commands.add_parser("report", help="merge parts into results.json, results.md and the plots")
    report.add_argument("sources", type=Path, nargs="+")
    report.add_argument("--out", type=Path, required=True)
    report.add_argument("--force", action="store_true")
    report.add_argument("--no-figure", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            run_part(args.part, args.out, args.resume, args.workers, args.device, args.seconds)
            return 0
        from archclass.recall.outputs import write_published

        write_published(args.sources, args.out, force=args.force, figure=not args.no_figure)
        return 0
    except (ArchclassError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
