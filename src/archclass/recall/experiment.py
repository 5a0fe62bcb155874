"""One recall sweep from settings to results: check the settings, plan, resume, train, write, check the bound.

The command line and a notebook share it: `archclass.recall.recall(...)` builds the settings and calls
run_sweep; `archclass recall` does the same from its options. So do merged reports (merge_report).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError
from archclass.recall.files import PartialLog, merge_sources, read_runs, refuse_overwrite, run_key


@dataclass
class SweepSettings:
    """What to train: architectures x widths (or state sizes) x seeds, on MQAR with these settings."""

    archs: Sequence[str]
    d_models: Sequence[int] = (64,)
    pairs: Sequence[int] = (4, 8, 16, 32)
    vocab: int = 256
    seq_len: int | None = None
    """Default: 4 x the largest K, at least 64."""
    layers: int = 2
    conv_width: int = 4
    test_seq_lens: Sequence[int] = ()
    seeds: int = 3
    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    accuracy: float = 0.9
    state_bytes: Sequence[int] = ()
    match_width: int | None = None
    device: str = "cpu"
    bf16: bool | None = None
    """Default: on for CUDA."""
    compile: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    workers: int = 1
    eval_every: int = 200

    def check(self) -> None:
        """Refuse settings that cannot make a sweep, each with one line naming the setting."""
        at_least_one = {
            "seeds": self.seeds, "steps": self.steps, "batch_size": self.batch_size, "layers": self.layers,
            "conv_width": self.conv_width, "workers": self.workers, "vocab": self.vocab,
        }  # fmt: skip
        for name, value in at_least_one.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ArchclassError(f"{name} must be a whole number of at least 1, not {value!r}")
        if not self.archs:
            raise ArchclassError("give at least one architecture")
        for name, values in (("d_model", self.d_models), ("pairs", self.pairs), ("state_bytes", self.state_bytes)):
            if any(not isinstance(v, int) or v < 1 for v in values):
                raise ArchclassError(f"{name} values must be positive whole numbers, not {list(values)}")
        if not self.d_models or not self.pairs:
            raise ArchclassError("give at least one d_model and one number of pairs")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ArchclassError(f"lr must be a positive finite number, not {self.lr}")
        if not (math.isfinite(self.accuracy) and 0 < self.accuracy <= 1):
            raise ArchclassError(f"accuracy must lie in (0, 1], not {self.accuracy}")
        if self.eval_every < 0:
            raise ArchclassError(f"eval_every must be 0 (never) or more, not {self.eval_every}")

    @property
    def length(self) -> int:
        return self.seq_len or max(64, 4 * max(self.pairs))

    def base(self) -> Any:
        """The TrainConfig every run starts from (architecture, width and seed filled in by the plan)."""
        from archclass.recall.mqar import MQARConfig
        from archclass.recall.train import TrainConfig

        for length in (self.length, *self.test_seq_lens):  # impossible lengths, refused before training
            try:
                MQARConfig(self.vocab, max(self.pairs), length)
            except ValueError as error:
                raise ArchclassError(str(error)) from None
        return TrainConfig(
            arch=self.archs[0], d_model=self.d_models[0], vocab=self.vocab, pairs=sorted(self.pairs),
            seq_len=self.length, n_layers=self.layers, conv_width=self.conv_width,
            test_seq_lens=tuple(self.test_seq_lens), steps=self.steps, batch_size=self.batch_size, lr=self.lr,
            target_accuracy=self.accuracy, device=self.device,
            bf16=self.device.startswith("cuda") if self.bf16 is None else self.bf16, compile=self.compile,
            eval_every=self.eval_every, overrides=dict(self.overrides),
        )  # fmt: skip


@dataclass
class RecallResult:
    runs: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    """The summary: mean and spread over seeds per architecture, size and length."""
    meta: dict[str, Any]
    violations: list[str]
    """Measurements above their own bound: each one is a bug in the state count, the bound or the task."""
    notes: list[str] = field(default_factory=list)


@dataclass
class SweepProgress:
    """Callbacks for a caller that shows progress (the command line's bar and lines)."""

    planned: Callable[[int, int], None] = lambda earlier, to_train: None
    finished: Callable[[dict[str, Any]], None] = lambda run: None


def plan_with_resume(
    settings: SweepSettings, resume: Path | None
) -> tuple[list[Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(configurations still to train, earlier runs kept, earlier runs not part of this plan)."""
    from archclass.recall.sweep import plan

    settings.check()
    try:
        configs = plan(
            settings.archs, settings.d_models, settings.seeds, settings.base(), settings.state_bytes,
            settings.match_width,
        )  # fmt: skip
    except ValueError as error:
        raise ArchclassError(str(error)) from None
    earlier = read_runs(resume) if resume else []
    planned = {run_key(asdict(config)) for config in configs}
    kept = [run for run in earlier if run_key(run) in planned]
    done = {run_key(run) for run in kept}
    left_out = [run for run in earlier if run_key(run) not in planned]
    return [config for config in configs if run_key(asdict(config)) not in done], kept, left_out


def run_sweep(
    settings: SweepSettings,
    *,
    out: Path | None = None,
    resume: Path | None = None,
    force: bool = False,
    figure: bool = True,
    command: str = "",
    progress: SweepProgress | None = None,
    verbose: bool = False,
) -> RecallResult | None:
    """Train the sweep; with `out`, keep each run as it finishes and write the results there.

    Returns None on the ranks of a torchrun launch other than 0 (rank 0 gathers and writes)."""
    import torch

    from archclass.recall.sweep import run_configs, run_distributed

    settings.check()
    settings.base()  # impossible lengths are refused before any file is looked at
    if settings.device.startswith("cuda") and not torch.cuda.is_available():
        raise ArchclassError("device cuda: no CUDA device is available on this machine (use cpu)")
    progress = progress or SweepProgress()
    main = int(os.environ.get("RANK", "0")) == 0  # under torchrun, rank 0 owns the files
    log = PartialLog(out, resume=resume) if out is not None else None
    if log and main:
        refuse_overwrite(log.path.parent, allowed=force or resume is not None, flag="--force (or --resume)")
        log.refuse_discarding(force=force)
    configs, earlier, left_out = plan_with_resume(settings, resume)
    progress.planned(len(earlier), len(configs))
    if log and main:
        log.start(earlier)

    def finished(run: dict[str, Any]) -> None:
        if log:  # each finished run is kept at once, so a sweep cut short still leaves its runs
            log.append(run)
        progress.finished(run)

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    runner = run_distributed if distributed else run_configs
    trained = runner(configs, settings.workers, finished, verbose)
    if trained is None:  # a non-zero torchrun rank
        return None
    device = torch.cuda.get_device_name(0) if settings.device.startswith("cuda") else "cpu"
    meta = {
        "command": command,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "device": device + (f" x {os.environ['WORLD_SIZE']} (torchrun)" if distributed else ""),
        "torch": torch.__version__,
        "target_accuracy": settings.accuracy,
    }
    result = _results(earlier + trained, meta, out, figure)
    if left_out:
        result.notes.append(f"{len(left_out)} runs in {resume} are not part of this sweep and were left out")
    if log:
        kept_note = log.finish(result.runs)
        if kept_note:
            result.notes.append(kept_note)
    return result


def merge_report(
    sources: list[Path],
    *,
    out: Path | None = None,
    exclude: Sequence[tuple[str, str]] = (),
    devices: dict[str, str] | None = None,
    accuracy: float = 0.9,
    figure: bool = True,
    force: bool = False,
    command: str = "",
) -> RecallResult:
    """The runs of several sweeps (or parts of one) merged into one summary, files and bound check."""
    if not (math.isfinite(accuracy) and 0 < accuracy <= 1):
        raise ArchclassError(f"accuracy must lie in (0, 1], not {accuracy}")
    if out is not None:
        refuse_overwrite(out, allowed=force, flag="--force")
    runs, described = merge_sources(sources, exclude, devices)
    meta = {
        "command": command,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "device": ", ".join(sorted({run.get("device", "unknown") for run in runs})),
        "sources": described,
        "target_accuracy": accuracy,
    }
    return _results(runs, meta, out, figure)


def _results(runs: list[dict[str, Any]], meta: dict[str, Any], out: Path | None, figure: bool) -> RecallResult:
    from archclass.recall.sweep import aggregate, violations, write_results

    rows = write_results(out, runs, meta, figure=figure) if out is not None else aggregate(runs)
    return RecallResult(runs, rows, meta, violations(runs))
