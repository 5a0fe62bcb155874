"""`archclass recall` and `archclass recall-report`: measured associative-recall capacity against the bound."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from archclass.cli.options import DeviceOption, JsonOption, StoreOption
from archclass.cli.output import emit_json, fail, note, stderr
from archclass.errors import ArchclassError
from archclass.keyvalue import parse_pairs
from archclass.number_list import comma_ints

if TYPE_CHECKING:
    from archclass.recall.experiment import RecallResult


def _command() -> str:
    return "archclass " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _finish(result: RecallResult, out: Path, *, figure: bool, store: bool, as_json: bool) -> None:
    """Keep the runs in the database, print the summary, then fail on any capacity above its bound."""
    from archclass.recall.printing import violations_message
    from archclass.recall.sweep import markdown_table

    if store:
        _store(result)
    if as_json:
        emit_json(result.rows)
    else:
        sys.stdout.write(markdown_table(result.rows))
        note(f"wrote {out}/results.json, results.md" + (", capacity.png" if figure else ""))
    for line in result.notes:
        note(f"note: {line}")
    message = violations_message(result.violations)
    if message:
        fail(message)


def _store(result: RecallResult) -> None:
    """Keep the sweep in the database too; the files are already written, so a failure only warns."""
    from archclass.recall.store import store_sweep

    try:
        ids = store_sweep(result)
    except ArchclassError as error:
        note(f"warning: recall runs not stored in the database: {error}")
        return
    note(f"stored {len(ids)} runs in the database (table recall_runs)")


ArchOption = Annotated[list[str], typer.Option("--arch", "-a", help="Reference implementation (repeatable).")]
WidthsOption = Annotated[str, typer.Option("--d-model", help="Comma-separated widths.")]
PairsOption = Annotated[str, typer.Option("--pairs", help="Comma-separated K (key-value pairs) to train on and test.")]
VocabOption = Annotated[int, typer.Option(min=1, help="V: distinct keys and values.")]
SeqLenOption = Annotated[Optional[int], typer.Option(min=1, help="Sequence length (default 4 x max K, at least 64).")]
LayersOption = Annotated[int, typer.Option(min=1, help="Sequence-mixing layers (each followed by an MLP).")]
_CONV_HELP = "Taps of the short causal convolution before each mixer (its buffer counts as state); 1 turns it off."
ConvOption = Annotated[int, typer.Option(min=1, help=_CONV_HELP)]
_TEST_LENS_HELP = "Also test each trained model at these sequence lengths (comma-separated)."
TestLensOption = Annotated[Optional[str], typer.Option(help=_TEST_LENS_HELP)]
SeedsOption = Annotated[int, typer.Option(min=1, help="Seeds per configuration; points are means over them.")]
StepsOption = Annotated[int, typer.Option(min=1, help="Training steps (early stop at 99% accuracy).")]
BatchOption = Annotated[int, typer.Option(min=1, help="Sequences per step.")]
LrOption = Annotated[float, typer.Option(help="Peak learning rate (AdamW, warm-up then cosine).")]


def _accuracy(value: float) -> float:
    if not 0 < value <= 1:  # NaN fails this too
        raise typer.BadParameter(f"{value:g} is not in (0, 1]")
    return value


_ACCURACY_HELP = "A: accuracy that counts as recalled, in (0, 1]."
AccuracyOption = Annotated[float, typer.Option(callback=_accuracy, help=_ACCURACY_HELP)]
_STATE_BYTES_HELP = "Match architectures at these state sizes (bytes) instead of --d-model."
StateBytesOption = Annotated[Optional[str], typer.Option(help=_STATE_BYTES_HELP)]
_MATCH_HELP = (
    "With --state-bytes: the d_model of families matched by a window or state dimension (default: the first --d-model)."
)
MatchWidthOption = Annotated[Optional[int], typer.Option(min=1, help=_MATCH_HELP)]
Bf16Option = Annotated[Optional[bool], typer.Option("--bf16/--no-bf16", help="bf16 autocast (default: on for cuda).")]
CompileOption = Annotated[bool, typer.Option("--compile", help="torch.compile the model.")]
_KW_HELP = "Hyperparameter KEY=VALUE for the families that take it (repeatable)."
KwOption = Annotated[list[str], typer.Option("--kw", help=_KW_HELP)]
WorkersOption = Annotated[int, typer.Option(min=1, help="Configurations trained at once on the device (processes).")]
EvalOption = Annotated[int, typer.Option(min=0, help="Evaluate (and maybe stop early) every N steps; 0: never.")]
OutOption = Annotated[Path, typer.Option(help="Folder for results.json, results.md and capacity.png.")]
FigureOption = Annotated[bool, typer.Option("--figure/--no-figure", help="Draw capacity.png.")]
_RESUME_HELP = "Keep the runs already in this runs.partial.jsonl or results.json and train only the rest."
ResumeOption = Annotated[Optional[Path], typer.Option(help=_RESUME_HELP, exists=True, dir_okay=False)]
_FORCE_HELP = "Replace an existing results.json (and discard a cut-short partial file)."
ForceOption = Annotated[bool, typer.Option("--force", help=_FORCE_HELP)]
_VERBOSE_HELP = "Print loss and accuracy at every evaluation of every run."
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help=_VERBOSE_HELP)]
_SWEEP_STORE_HELP = "Record every run in the database (recall_runs)."
SweepStoreOption = Annotated[bool, typer.Option("--store/--no-store", help=_SWEEP_STORE_HELP)]


def recall_command(
    arch: ArchOption,
    d_model: WidthsOption = "64",
    pairs: PairsOption = "4,8,16,32",
    vocab: VocabOption = 256,
    seq_len: SeqLenOption = None,
    layers: LayersOption = 2,
    conv_width: ConvOption = 4,
    test_seq_len: TestLensOption = None,
    seeds: SeedsOption = 3,
    steps: StepsOption = 2000,
    batch_size: BatchOption = 64,
    lr: LrOption = 1e-3,
    accuracy: AccuracyOption = 0.9,
    state_bytes: StateBytesOption = None,
    match_width: MatchWidthOption = None,
    device: DeviceOption = "cpu",
    bf16: Bf16Option = None,
    compile_: CompileOption = False,
    kw: KwOption = [],  # noqa: B006
    workers: WorkersOption = 1,
    eval_every: EvalOption = 200,
    out: OutOption = Path("results/recall"),
    figure: FigureOption = True,
    json_: JsonOption = False,
    resume: ResumeOption = None,
    force: ForceOption = False,
    verbose: VerboseOption = False,
    store: SweepStoreOption = True,
) -> None:
    """Train small MQAR models and set their recall capacity against the bound for their state.

    Each configuration is trained once on a mixture of K and tested at every K on held-out data;
    capacity is the largest K recalled with mean accuracy >= A. A capacity above its own bound is a
    bug (in the state count, the bound or the task) and fails the command. An existing results.json
    in --out is replaced only with --resume or --force.
    """
    from archclass.recall.experiment import SweepSettings, run_sweep

    settings = SweepSettings(
        archs=arch, d_models=comma_ints(d_model, "--d-model"), pairs=comma_ints(pairs, "--pairs"), vocab=vocab,
        seq_len=seq_len, layers=layers, conv_width=conv_width, test_seq_lens=comma_ints(test_seq_len, "--test-seq-len"),
        seeds=seeds, steps=steps, batch_size=batch_size, lr=lr, accuracy=accuracy,
        state_bytes=comma_ints(state_bytes, "--state-bytes"), match_width=match_width, device=device, bf16=bf16,
        compile=compile_, workers=workers, eval_every=eval_every, overrides=parse_pairs(kw, "--kw", "chunk_size=8"),
    )  # fmt: skip
    from archclass.recall.printing import sweep_progress

    with sweep_progress(stderr) as progress:
        result = run_sweep(
            settings, out=out, resume=resume, force=force, figure=figure, command=_command(), progress=progress,
            verbose=verbose,
        )  # fmt: skip
    if result is not None:  # None on a non-zero torchrun rank: rank 0 writes the results
        _finish(result, out, figure=figure, store=store, as_json=json_)


_SOURCES_HELP = "Runs from earlier sweeps: runs.partial.jsonl files or results.json files."
SourcesArgument = Annotated[list[Path], typer.Argument(help=_SOURCES_HELP, exists=True, dir_okay=False)]
_EXCLUDE_HELP = (
    "Leave out the runs of this architecture from SOURCE (ARCH@SOURCE-FILE-NAME, repeatable), "
    "e.g. a family re-run elsewhere after a fix."
)
ExcludeOption = Annotated[list[str], typer.Option(help=_EXCLUDE_HELP)]
_SOURCE_DEVICE_HELP = (
    "SOURCE-FILE-NAME=DEVICE: the device of that file's runs where they do not record one "
    "(runs recorded before runs carried their device)."
)
SourceDeviceOption = Annotated[list[str], typer.Option(help=_SOURCE_DEVICE_HELP)]
_SCORED_HELP = "A: the accuracy the runs were scored at, in (0, 1]."
ReportAccuracyOption = Annotated[float, typer.Option(callback=_accuracy, help=_SCORED_HELP)]
ReportForceOption = Annotated[bool, typer.Option("--force", help="Replace an existing results.json in --out.")]


def recall_report_command(
    sources: SourcesArgument,
    out: OutOption = Path("results/recall"),
    exclude: ExcludeOption = [],  # noqa: B006
    source_device: SourceDeviceOption = [],  # noqa: B006
    accuracy: ReportAccuracyOption = 0.9,
    figure: FigureOption = True,
    store: StoreOption = False,
    force: ReportForceOption = False,
    json_: JsonOption = False,
) -> None:
    """Merge the runs of several recall sweeps (or parts of one) into one table, figure and bound check.

    Use it when a sweep was trained in parts (--resume), or on several devices. Nothing is trained;
    a capacity above its own bound still fails the command. An existing results.json in --out is
    replaced only with --force.
    """
    from archclass.recall.experiment import merge_report
    from archclass.recall.sources import exclusions

    devices = parse_pairs(source_device, "--source-device", "runs.jsonl=H200", convert=str)
    result = merge_report(
        sources, out=out, exclude=exclusions(exclude), devices=devices, accuracy=accuracy, figure=figure, force=force,
        command=_command(),
    )  # fmt: skip
    _finish(result, out, figure=figure, store=store, as_json=json_)


def register(app: typer.Typer) -> None:
    app.command(
        "recall",
        epilog=(
            "Example: archclass recall --arch softmax-attention --arch mamba --d-model 64,128 --pairs 8,16,32,64 "
            "--vocab 8192 --device cuda"
        ),
    )(recall_command)
    app.command(
        "recall-report",
        epilog=(
            "Example: archclass recall-report results/recall/h200/runs.partial.jsonl "
            "results/recall/linear-attention-cpu/results.json --out results/recall"
        ),
    )(recall_report_command)
