"""`archclass recall`: measured associative-recall capacity against the bound."""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from archclass.cli.output import emit_json, fail, parse_key_values, stderr


def _ints(text: str, option: str) -> list[int]:
    try:
        values = sorted({int(float(part)) for part in text.split(",") if part.strip()})
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of numbers", param_hint=option) from None
    if not values or values[0] < 1:
        raise typer.BadParameter("give positive numbers, e.g. 8,16,32", param_hint=option)
    return values


def _overrides(items: list[str]) -> dict[str, Any]:
    return parse_key_values(items, "--kw", "chunk_size=8")


def _finish(
    runs: list[dict[str, Any]], meta: dict[str, Any], out: Path, *, figure: bool, store: bool, as_json: bool
) -> None:
    """Write the results, keep them in the database, print the summary, then check every bound."""
    from archclass.recall.sweep import markdown_table, violations, write_results

    rows = write_results(out, runs, meta, figure=figure)
    if store:
        _store(runs, meta)
    if as_json:
        emit_json(rows)
    else:
        sys.stdout.write(markdown_table(rows))
        stderr.print(f"wrote {out}/results.json, results.md" + (", capacity.png" if figure else ""), markup=False)
    broken = violations(runs)
    if broken:
        fail(
            "measured capacity above the bound (a bug in the state count, the bound or the task): " + "; ".join(broken)
        )


def _store(runs: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    """Keep the sweep in the database too; the files are already written, so a failure only warns."""
    from archclass.db import record_recall_runs
    from archclass.errors import ArchclassError
    from archclass.reference import catalog

    try:
        ids = record_recall_runs(
            runs,
            device=meta["device"],
            target_accuracy=meta["target_accuracy"],
            command=meta["command"],
            arch_ids={spec.name: spec.arch_id for spec in catalog().values()},
        )
    except ArchclassError as error:
        stderr.print(f"warning: recall runs not stored in the database: {error}", markup=False)
        return
    stderr.print(f"stored {len(ids)} runs in the database (table recall_runs)", markup=False)


def _earlier_runs(path: Path) -> list[dict[str, Any]]:
    """Runs from a sweep's runs.partial.jsonl (one run a line) or results.json (its "runs")."""
    text = path.read_text()
    try:
        if path.suffix == ".json":
            runs = json.loads(text)["runs"]
        else:
            runs = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        fail(f"--resume {path}: not a recall sweep's runs.partial.jsonl or results.json ({error})")
    return list(runs)


def _knobs(result: dict[str, Any]) -> str:
    return "".join(f"{key}={value} " for key, value in sorted(result.get("overrides", {}).items()))


def register(app: typer.Typer) -> None:
    @app.command(
        epilog=(
            "Example: archclass recall --arch softmax-attention --arch mamba --d-model 64,128 --pairs 8,16,32,64 "
            "--vocab 8192 --device cuda"
        )
    )
    def recall(
        arch: Annotated[list[str], typer.Option("--arch", "-a", help="Reference implementation (repeatable).")],
        d_model: Annotated[str, typer.Option("--d-model", help="Comma-separated widths.")] = "64",
        pairs: Annotated[
            str, typer.Option("--pairs", help="Comma-separated K (key-value pairs) to train on and test.")
        ] = "4,8,16,32",
        vocab: Annotated[int, typer.Option(help="V: distinct keys and values.")] = 256,
        seq_len: Annotated[
            Optional[int], typer.Option(help="Sequence length (default 4 x max K, at least 64).")
        ] = None,
        layers: Annotated[int, typer.Option(help="Sequence-mixing layers (each followed by an MLP).")] = 2,
        conv_width: Annotated[
            int,
            typer.Option(
                help="Taps of the short causal convolution before each mixer (its buffer counts as state); "
                "1 turns it off."
            ),
        ] = 4,
        test_seq_len: Annotated[
            Optional[str],
            typer.Option(help="Also test each trained model at these sequence lengths (comma-separated)."),
        ] = None,
        seeds: Annotated[int, typer.Option(help="Seeds per configuration; points are means over them.")] = 3,
        steps: Annotated[int, typer.Option(help="Training steps (early stop at 99% accuracy).")] = 2000,
        batch_size: Annotated[int, typer.Option(help="Sequences per step.")] = 64,
        lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, warm-up then cosine).")] = 1e-3,
        accuracy: Annotated[float, typer.Option(help="A: accuracy that counts as recalled.")] = 0.9,
        state_bytes: Annotated[
            Optional[str], typer.Option(help="Match architectures at these state sizes (bytes) instead of --d-model.")
        ] = None,
        match_width: Annotated[
            Optional[int],
            typer.Option(
                help="With --state-bytes: the d_model of families matched by a window or state dimension "
                "(default: the first --d-model)."
            ),
        ] = None,
        device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
        bf16: Annotated[
            Optional[bool], typer.Option("--bf16/--no-bf16", help="bf16 autocast (default: on for cuda).")
        ] = None,
        compile_: Annotated[bool, typer.Option("--compile", help="torch.compile the model.")] = False,
        kw: Annotated[
            list[str],
            typer.Option("--kw", help="Hyperparameter KEY=VALUE for the families that take it (repeatable)."),
        ] = [],  # noqa: B006
        workers: Annotated[int, typer.Option(help="Configurations trained at once on the device (processes).")] = 1,
        eval_every: Annotated[int, typer.Option(help="Evaluate (and maybe stop early) every N steps.")] = 200,
        out: Annotated[Path, typer.Option(help="Folder for results.json, results.md and capacity.png.")] = Path(
            "results/recall"
        ),
        figure: Annotated[bool, typer.Option("--figure/--no-figure", help="Draw capacity.png.")] = True,
        json_: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
        resume: Annotated[
            Optional[Path],
            typer.Option(
                help="Keep the runs already in this runs.partial.jsonl or results.json and train only the rest.",
                exists=True,
                dir_okay=False,
            ),
        ] = None,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Print loss and accuracy at every evaluation of every run.")
        ] = False,
        store: Annotated[
            bool, typer.Option("--store/--no-store", help="Record every run in the database (recall_runs).")
        ] = True,
    ) -> None:
        """Train small MQAR models and set their recall capacity against the bound for their state.

        Each configuration is trained once on a mixture of K and tested at every K on held-out data;
        capacity is the largest K recalled with mean accuracy >= A. A capacity above its own bound is a
        bug (in the state count, the bound or the task) and fails the command.
        """
        import torch

        from archclass.recall.sweep import plan, run_configs, run_distributed
        from archclass.recall.train import TrainConfig

        if device.startswith("cuda") and not torch.cuda.is_available():
            fail("--device cuda: no CUDA device is available on this machine (use --device cpu)")
        pair_list = _ints(pairs, "--pairs")
        length = seq_len or max(64, 4 * pair_list[-1])
        use_bf16 = device.startswith("cuda") if bf16 is None else bf16
        try:
            base = TrainConfig(
                arch=arch[0],
                d_model=0,
                vocab=vocab,
                pairs=pair_list,
                seq_len=length,
                n_layers=layers,
                conv_width=conv_width,
                test_seq_lens=_ints(test_seq_len, "--test-seq-len") if test_seq_len else (),
                steps=steps,
                batch_size=batch_size,
                lr=lr,
                target_accuracy=accuracy,
                device=device,
                bf16=use_bf16,
                compile=compile_,
                eval_every=eval_every,
                overrides=_overrides(kw),
            )
            from archclass.recall.mqar import MQARConfig

            for length in (base.seq_len, *base.test_seq_lens):  # refuse impossible lengths before training
                MQARConfig(vocab, pair_list[-1], length)
            if conv_width < 1:
                raise ValueError(f"--conv-width must be at least 1 (1 turns the convolution off), got {conv_width}")
            targets = _ints(state_bytes, "--state-bytes") if state_bytes else []
            configs = plan(arch, _ints(d_model, "--d-model"), seeds, base, targets, match_width)
        except ValueError as error:
            fail(str(error))
            return
        earlier = _earlier_runs(resume) if resume else []
        if earlier:
            from archclass.recall.sweep import run_key

            done = {run_key(run) for run in earlier}
            kept = [run for run in earlier if run_key(run) in {run_key(c) for c in configs}]
            configs = [c for c in configs if run_key(c) not in done]
            earlier = kept
            stderr.print(f"resuming: {len(earlier)} runs already done in {resume}", markup=False)
        stderr.print(
            f"training {len(configs)} models ({len(arch)} architectures x sizes x {seeds} seeds)", markup=False
        )

        out.mkdir(parents=True, exist_ok=True)
        partial = out / "runs.partial.jsonl"
        partial.write_text("".join(json.dumps(run) + "\n" for run in earlier))

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(
            TextColumn("recall sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=stderr,
            transient=True,
        )
        task = bar.add_task("runs", total=len(configs))

        def progress(result: dict[str, Any]) -> None:
            # Each finished run is kept at once, so a sweep cut short still leaves its completed runs.
            with partial.open("a") as handle:
                handle.write(json.dumps(result) + "\n")
            bound = result["bound_pairs"]
            bar.console.print(
                f"  {result['arch']} d={result['d_model']} {_knobs(result)}seed={result['seed']}: "
                f"capacity {result['capacity']} (bound {bound:.3g}), {result['steps_run']} steps, "
                f"{result['tokens_per_second']:,.0f} tokens/s"
                if bound is not None
                else f"  {result['arch']} d={result['d_model']} seed={result['seed']}: capacity {result['capacity']}",
                markup=False,
            )
            bar.advance(task)

        distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
        with bar:
            runs = (
                run_distributed(configs, workers, progress, verbose)
                if distributed
                else run_configs(configs, workers, progress, verbose)
            )
        if runs is None:  # a non-zero torchrun rank: rank 0 writes the results
            return
        runs = earlier + runs
        device_name = torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"
        meta = {
            "command": "archclass " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "device": device_name + (f" x {os.environ['WORLD_SIZE']} (torchrun)" if distributed else ""),
            "torch": torch.__version__,
            "target_accuracy": accuracy,
        }
        partial.unlink(missing_ok=True)
        _finish(runs, meta, out, figure=figure, store=store, as_json=json_)

    @app.command(
        "recall-report",
        epilog=(
            "Example: archclass recall-report results/recall/h200/runs.partial.jsonl "
            "results/recall/linear-attention-cpu/results.json --out results/recall"
        ),
    )
    def recall_report(
        sources: Annotated[
            list[Path],
            typer.Argument(
                help="Runs from earlier sweeps: runs.partial.jsonl files or results.json files.",
                exists=True,
                dir_okay=False,
            ),
        ],
        out: Annotated[Path, typer.Option(help="Folder for results.json, results.md and capacity.png.")] = Path(
            "results/recall"
        ),
        exclude: Annotated[
            list[str],
            typer.Option(
                help="Leave out the runs of this architecture from SOURCE (ARCH@SOURCE-FILE-NAME, repeatable), "
                "e.g. a family re-run elsewhere after a fix."
            ),
        ] = [],  # noqa: B006
        source_device: Annotated[
            list[str],
            typer.Option(
                help="SOURCE-FILE-NAME=DEVICE: the device of that file's runs where they do not record one "
                "(runs recorded before runs carried their device)."
            ),
        ] = [],  # noqa: B006
        accuracy: Annotated[float, typer.Option(help="A: the accuracy the runs were scored at.")] = 0.9,
        figure: Annotated[bool, typer.Option("--figure/--no-figure", help="Draw capacity.png.")] = True,
        store: Annotated[bool, typer.Option("--store/--no-store", help="Record the runs in the database.")] = False,
        json_: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Merge the runs of several recall sweeps (or parts of one) into one table, figure and bound check.

        Use it when a sweep was trained in parts (--resume), or on several devices. Nothing is trained;
        a capacity above its own bound still fails the command.
        """
        from archclass.recall.sweep import run_key

        dropped = set()
        for item in exclude:
            arch_name, sep, source_name = item.partition("@")
            if not sep or not arch_name or not source_name:
                raise typer.BadParameter(f"{item!r} is not ARCH@SOURCE-FILE-NAME", param_hint="--exclude")
            dropped.add((arch_name, source_name))
        devices = parse_key_values(source_device, "--source-device", "runs.partial.jsonl=NVIDIA H200")
        runs: list[dict[str, Any]] = []
        seen: dict[tuple[Any, ...], Path] = {}
        sources_meta = []
        for source in sources:
            kept = [r for r in _earlier_runs(source) if (r.get("arch"), source.name) not in dropped]
            for run in kept:
                if "device" not in run and source.name in devices:
                    run["device"] = str(devices[source.name])
            for run in kept:
                key = run_key(run)
                if key in seen:
                    fail(f"{source}: run {key[:3]} is also in {seen[key]}; give each run once")
                seen[key] = source
            runs.extend(kept)
            sources_meta.append({"path": str(source), "runs": len(kept)})
        if not runs:
            fail("no runs in the given files (after --exclude)")
        meta = {
            "command": "archclass " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "device": ", ".join(sorted({run.get("device", "unknown") for run in runs})),
            "sources": sources_meta,
            "target_accuracy": accuracy,
        }
        _finish(runs, meta, out, figure=figure, store=store, as_json=json_)
