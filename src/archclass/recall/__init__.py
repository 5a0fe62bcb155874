"""The associative-recall experiment: train small MQAR models, measure their capacity, check the bound.

From a notebook:

    from archclass.recall import recall
    result = recall(["retnet", "softmax-attention"], d_models=[64], pairs=[2, 4, 8], vocab=64, seeds=1)
    result.rows          # capacity per architecture and size, with its bound
    result.violations    # capacities above their own bound: must be empty
    merged = report([Path("a/results.json"), Path("b/runs.partial.jsonl")])   # earlier sweeps, merged

Importing this package does not import torch; calling `recall` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archclass.recall.experiment import RecallResult


def recall(
    archs: list[str],
    *,
    out: Path | None = None,
    resume: Path | None = None,
    force: bool = False,
    figure: bool = True,
    verbose: bool = False,
    **settings: Any,
) -> RecallResult:
    """Train and measure a sweep. settings: the fields of recall.experiment.SweepSettings (d_models,
    pairs, vocab, seeds, steps, ...). With `out`, results are written there as the command line
    writes them; an existing results.json is replaced only with resume or force."""
    from archclass.recall.experiment import SweepSettings, run_sweep

    result = run_sweep(
        SweepSettings(archs=archs, **settings), out=out, resume=resume, force=force, figure=figure, verbose=verbose
    )
    if result is None:
        raise RuntimeError("recall() ran on a torchrun rank other than 0; rank 0 has the results")
    return result


def report(sources: list[Path], *, out: Path | None = None, force: bool = False, **options: Any) -> RecallResult:
    """Merge the runs of earlier sweeps (runs.partial.jsonl or results.json files) into one summary and
    bound check. options: exclude [(arch, file name)], devices {file name: device}, accuracy, figure.
    With `out`, the merged files are written there (an existing results.json only with force)."""
    from archclass.recall.experiment import merge_report

    return merge_report(list(sources), out=out, force=force, **options)
