"""How a recall sweep reads while it runs and when it ends: a progress bar, a line per finished run, the
bound check. Rich is imported only by the bar; nothing here imports torch."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from archclass.recall.experiment import SweepProgress


@contextmanager
def sweep_progress(console: Console) -> Iterator[SweepProgress]:
    """A progress bar over the runs, and a line per finished run, on CONSOLE."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from archclass.recall.experiment import SweepProgress

    columns = (TextColumn("recall sweep"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("runs", total=None)

        def planned(earlier: int, to_train: int) -> None:
            if earlier:
                console.print(f"resuming: {earlier} runs already done", markup=False)
            console.print(f"training {to_train} models", markup=False)
            bar.update(task, total=to_train)

        def finished(run: dict[str, Any]) -> None:
            bar.console.print(run_line(run), markup=False)
            bar.advance(task)

        yield SweepProgress(planned, finished)


def run_line(run: dict[str, Any]) -> str:
    """A finished run: architecture, width, knobs, seed and capacity; with a bound, its speed too."""
    knobs = "".join(f"{key}={value} " for key, value in sorted(run.get("overrides", {}).items()))
    line = f"  {run['arch']} d={run['d_model']} {knobs}seed={run['seed']}: capacity {run['capacity']}"
    bound = run["bound_pairs"]
    if bound is not None:
        line += f" (bound {bound:.3g}), {run['steps_run']} steps, {run['tokens_per_second']:,.0f} tokens/s"
    return line


def violations_message(violations: list[str]) -> str | None:
    """The error for capacities above their bound, or None when every capacity is within it."""
    if not violations:
        return None
    return "measured capacity above the bound (a bug in the state count, the bound or the task): " + "; ".join(
        violations
    )


def training_line(run: dict[str, Any]) -> str:
    """One line: what was trained, how fast, when it left the plateau, accuracy per K."""
    if "error" in run:
        return f"{run['arch']:<18} d={run['d_model']:<4} V={run['vocab']:<5} lr={run['lr']:<7g} failed: {run['error']}"
    plateau = run.get("plateau_step")
    left = f"left plateau at step {plateau}" if plateau else "never left the plateau"
    accuracy = " ".join(f"{k}:{a:.2f}" for k, a in sorted(run["accuracy"].items(), key=lambda item: int(item[0])))
    losses = [h["loss"] for h in run.get("history", [])]
    # The loss is logged every eval_every steps: a run cut before the first has none to show.
    loss = f"last logged loss {losses[-1]:.3f}" if losses else "no loss logged yet"
    return (
        f"{run['arch']:<18} d={run['d_model']:<4} V={run['vocab']:<5} lr={run['lr']:<7g} "
        f"{run['tokens_per_second']:>12,.0f} tok/s  steps {run['steps_run']:>5}  {left:<28} "
        f"{loss} (ln V {math.log(run['vocab']):.2f})  "
        f"capacity {run['capacity']}  acc by K {accuracy}"
    )
