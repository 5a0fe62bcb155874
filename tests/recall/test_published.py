"""The published-scale pipeline end to end on CPU, scaled down: parts trained and resumed, then merged
into results.json, results.md and both figures, with fits, constructed curves and no bound violation."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.recall import published  # noqa: E402
from archclass.recall.outputs import write_published  # noqa: E402


def _tiny(arch: str, width: int, lr: float) -> object:
    return published.base_config(
        arch=arch, d_model=width, vocab=16, pairs=(2, 4, 8), seq_len=32, steps=30, batch_size=16, lr=lr,
        eval_every=15, eval_sequences=16, device="cpu", bf16=False, train_mix=((16, 2, 3.0), (32, 4, 1.0)),
    )  # fmt: skip


def test_parts_resume_and_merge_into_the_published_files(tmp_path):
    first = [_tiny("linear-attention", 16, 3e-3), _tiny("softmax-attention", 16, 3e-3)]
    out = tmp_path / "part"
    assert published.train_into(first, out, None, workers=1) == 2
    partial = out / "runs.partial.jsonl"
    # A second part given the first's log trains only what is new (another lr of the same point).
    second = [*first, replace(first[0], lr=1e-2)]
    assert published.train_into(second, out, partial, workers=1) == 1
    runs = [json.loads(line) for line in partial.read_text().splitlines()]
    assert len(runs) == 3 and all(run["train_mix"] and run["lr"] for run in runs)

    result = write_published([partial], tmp_path / "results", widths=[4, 8])
    saved = json.loads((tmp_path / "results" / "results.json").read_text())
    assert saved["violations"] == [] and len(saved["runs"]) == 3
    linear = saved["families"]["linear-attention"]
    assert len(linear["points"]) == 1 and sorted(linear["points"][0]["lrs_tried"]) == [3e-3, 1e-2]
    assert saved["families"]["softmax-attention"]["state_grows"] is True
    assert {row["rule"] for row in result["constructed"]} == {"linear-attention", "deltanet"}
    text = (tmp_path / "results" / "results.md").read_text()
    assert "slope" in text and "Constructed by hand" in text
    for figure in ("capacity_vs_state.png", "accuracy_vs_k.png"):
        assert (tmp_path / "results" / figure).read_bytes()[:4] == b"\x89PNG"


def test_every_part_is_a_distinct_set_of_runs_at_the_published_scale():
    seen = set()
    for part in range(1, 8):
        for config in published.part_configs(part):
            key = (config.arch, config.d_model, config.seed, config.lr, tuple(sorted(config.overrides.items())))
            assert key not in seen
            seen.add(key)
            assert config.vocab >= 1024 and config.seq_len >= 512 and max(config.pairs) == 256
    compact = {(a, d) for a, d, s, lr, _ in seen if a in published.COMPACT and s == 0}
    windows = {dict(o)["window"] for a, *_, o in seen if a == "sliding-window-attention"}
    assert windows == set(published.WINDOWS)
    assert len(compact) == len(published.COMPACT) * len(published.D_MODELS)
    with pytest.raises(ValueError, match="part must be one of"):
        published.part_configs(99)


def test_a_run_that_fails_is_kept_apart_and_does_not_lose_the_others(tmp_path):
    good = _tiny("linear-attention", 16, 3e-3)
    broken = replace(_tiny("gla", 16, 3e-3), overrides={"n_heads": 3})  # 3 heads do not divide 16
    out = tmp_path / "part"
    assert published.train_into([broken, good], out, None, workers=1) == 2
    kept = [json.loads(line) for line in (out / "runs.partial.jsonl").read_text().splitlines()]
    failed = [json.loads(line) for line in (out / "failed.jsonl").read_text().splitlines()]
    assert [run["arch"] for run in kept] == ["linear-attention"]
    assert [run["arch"] for run in failed] == ["gla"] and "divisible" in failed[0]["error"]
    # Resumed, the failed run is tried again; the finished one is not.
    assert published.train_into([broken, good], tmp_path / "again", out / "runs.partial.jsonl", workers=1) == 1
