"""Several references probed at once on CPU, one process per core.

Each reference's probe is independent of the others and runs on one core (the references are small
at the CPU size), so `probe --all` on a 2-core machine takes half the time in two processes. The
processes are spawned, not forked: a fork of a process whose torch has started its OpenMP threads can
hang. Each child runs torch on one thread, so two children do not compete for a core.
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

from archclass.errors import ArchclassError
from archclass.probe.result import ProbeResult

ProbeTargets = Callable[..., list[ProbeResult]]


def probe_in_processes(
    probe_targets: ProbeTargets,
    targets: Sequence[str],
    workers: int,
    options: dict[str, Any],
    progress: Callable[[str, int], None] | None = None,
) -> list[ProbeResult]:
    """probe_targets([target], **options) for each target in `workers` processes, results in the
    targets' order; progress(label, length) for each measured length, as each target finishes. The
    first target that fails stops the run with its one-line error. probe_targets is passed in (and
    pickled by name) so that this module does not import the package that imports it."""
    context = multiprocessing.get_context("spawn")
    results = []
    with context.Pool(workers, initializer=_one_thread) as pool:
        for outcome in pool.imap(functools.partial(_probe_one, probe_targets, options), targets):
            if isinstance(outcome, str):
                raise ArchclassError(outcome)
            if progress is not None:
                for measurement in outcome.measurements:
                    progress(outcome.target, measurement.length)
            results.append(outcome)
    return results


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _probe_one(probe_targets: ProbeTargets, options: dict[str, Any], target: str) -> ProbeResult | str:
    """The target's result, or its error as one line (an exception may not survive pickling)."""
    try:
        return probe_targets([target], **options)[0]
    except ArchclassError as error:
        return str(error)
