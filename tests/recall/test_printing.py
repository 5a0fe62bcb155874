"""The lines a recall sweep prints (archclass.recall.printing)."""

from __future__ import annotations

from archclass.recall.printing import run_line, violations_message

RUN = {
    "arch": "mamba", "d_model": 64, "seed": 1, "capacity": 16, "bound_pairs": 1234.5, "steps_run": 800,
    "tokens_per_second": 51234.4, "overrides": {"d_state": 8, "chunk_size": 4},
}  # fmt: skip


def test_a_run_line_names_knobs_in_order_and_the_bound():
    assert run_line(RUN) == (
        "  mamba d=64 chunk_size=4 d_state=8 seed=1: capacity 16 (bound 1.23e+03), 800 steps, 51,234 tokens/s"
    )
    assert run_line({**RUN, "bound_pairs": None, "overrides": {}}) == "  mamba d=64 seed=1: capacity 16"


def test_violations_fail_only_when_there_are_some():
    assert violations_message([]) is None
    assert violations_message(["a", "b"]).endswith("the bound or the task): a; b")


def test_a_training_line_without_a_logged_loss_says_so_instead_of_nan():
    """A run cut before its first logged step (the CPU smoke of part 1 at 2 s a run) printed
    "final loss nan", which reads as a diverged run."""
    from archclass.recall.printing import training_line

    run = {
        "arch": "gla", "d_model": 64, "vocab": 1024, "lr": 3e-3, "tokens_per_second": 7000.0, "steps_run": 2,
        "plateau_step": None, "accuracy": {"4": 0.0}, "capacity": 0, "history": [],
    }  # fmt: skip
    assert "no loss logged yet" in training_line(run) and "nan" not in training_line(run)
    logged = training_line({**run, "history": [{"step": 250, "loss": 6.5}]})
    assert "last logged loss 6.500" in logged
