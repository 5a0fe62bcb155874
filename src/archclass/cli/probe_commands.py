"""`archclass probe` and `archclass reference list`: measurement of reference and user modules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from archclass.cli.options import DeviceOption, JsonOption, RegistryOption, StoreOption
from archclass.cli.output import emit_json, stderr, stdout
from archclass.errors import ArchclassError
from archclass.keyvalue import parse_pairs
from archclass.number_list import comma_ints

_ARCH_HELP = "Registry id/alias or reference name (repeatable)."
ArchOption = Annotated[list[str], typer.Option("--arch", "-a", help=_ARCH_HELP)]
AllOption = Annotated[bool, typer.Option("--all", help="Probe every reference implementation (the claims check).")]
ModuleOption = Annotated[Optional[str], typer.Option("--module", help="Your OSP module, as FILE.py:CLASS.")]
KwOption = Annotated[list[str], typer.Option("--kw", help="Constructor argument KEY=VALUE (repeatable).")]
WidthOption = Annotated[Optional[int], typer.Option(min=1, help="Model width (default: the size's).")]
DtypeOption = Annotated[Optional[str], typer.Option(help="float32, float64, bfloat16, float16 (default bf16 on CUDA).")]
_SIZE_HELP = "Named size of the references: tiny (CPU default), llama-3-8b (CUDA default), mla's deepseek-v2-lite, ..."
SizeOption = Annotated[Optional[str], typer.Option("--size", help=_SIZE_HELP)]
_LENGTHS_HELP = "Comma-separated positions T (default: 128..2048 on CPU, 1k..64k on CUDA)."
LengthsOption = Annotated[Optional[str], typer.Option(help=_LENGTHS_HELP)]
RepeatsOption = Annotated[int, typer.Option(min=1, help="Timed repetitions of each step (median reported).")]
_WORKERS_HELP = "Processes probing references at once on CPU (0: one per core; 1: one at a time, quietest timings)."
WorkersOption = Annotated[int, typer.Option(min=0, help=_WORKERS_HELP)]
_CHECK_HELP = "First check that step reproduces forward and prefill (the OSP rule)."
CheckOption = Annotated[bool, typer.Option("--check/--no-check", help=_CHECK_HELP)]
OutOption = Annotated[Optional[Path], typer.Option("--out", help="Also write the JSON here.")]
PlotOption = Annotated[Optional[Path], typer.Option("--plot", help="Write log-log plots (PNG or SVG) here.")]
_HF_HELP = "A transformers model type, e.g. mamba, llama."
HfOption = Annotated[Optional[str], typer.Option("--hf", metavar="MODEL_TYPE", help=_HF_HELP)]
HfAllOption = Annotated[bool, typer.Option("--hf-all", help="The census: every causal-LM type of transformers.")]
_HF_CONFIG_HELP = "A real model's config.json (its sizes, nothing downloaded)."
HfConfigOption = Annotated[Optional[Path], typer.Option("--hf-config", help=_HF_CONFIG_HELP)]
_LAYERS_HELP = "With --hf/--hf-config: keep N layers of each kind."
LayersOption = Annotated[Optional[int], typer.Option("--layers", min=1, help=_LAYERS_HELP)]


def _lengths(text: Optional[str]) -> list[int] | None:
    return comma_ints(text, "--lengths", "256,512,1024", at_least=3) or None  # a growth fit needs three points


def reference_list(json_: JsonOption = False) -> None:
    """Every reference implementation with its registry id and parameter count (d_model=64)."""
    from archclass.probe.report import references_table
    from archclass.reference import describe

    rows = describe(64)
    if json_:
        emit_json(rows)
    else:
        stdout.print(references_table(rows))


def probe_command(
    arch: ArchOption = [],  # noqa: B006
    all_: AllOption = False,
    module: ModuleOption = None,
    kw: KwOption = [],  # noqa: B006
    d_model: WidthOption = None,
    size: SizeOption = None,
    device: DeviceOption = "cpu",
    dtype: DtypeOption = None,
    lengths: LengthsOption = None,
    repeats: RepeatsOption = 20,
    workers: WorkersOption = 0,
    check: CheckOption = True,
    json_: JsonOption = False,
    out: OutOption = None,
    plot: PlotOption = None,
    store: StoreOption = True,
    hf: HfOption = None,
    hf_all: HfAllOption = False,
    hf_config: HfConfigOption = None,
    layers: LayersOption = None,
    registry_file: RegistryOption = None,
) -> None:
    """Measure state growth and per-step cost as T grows, classify from the measurements, check the registry.

    E and C are decided from exact counts (state scalars; FLOPs and bytes of one step), never from
    wall time alone; wall time is reported beside them. The first steps are checked against forward
    and prefill before anything is measured (--no-check skips that).
    """
    if sum(bool(x) for x in (arch, all_, module, hf, hf_all, hf_config)) != 1:
        raise typer.BadParameter(
            "give exactly one of --arch ID, --all, --module FILE.py:Class, --hf TYPE, --hf-all or --hf-config FILE",
            param_hint="--arch",
        )
    kwargs: dict[str, Any] = parse_pairs(kw, "--kw", "d_model=64")
    if hf or hf_all or hf_config:
        hf_dtype = dtype or "float32"
        return _run_hf(hf, hf_all, hf_config, layers, kwargs, _lengths(lengths), device, hf_dtype, check, json_, out)
    from archclass.probe import probe_targets
    from archclass.probe.report import probe_progress
    from archclass.probe.runner import default_lengths
    from archclass.reference import catalog

    targets: list[Any] = [module] if module else (sorted(catalog()) if all_ else arch)
    chosen = _lengths(lengths) or default_lengths(device)
    with probe_progress(stderr, len(targets) * len(chosen)) as report:
        found = probe_targets(
            targets, d_model=d_model, kwargs=kwargs, lengths=chosen, device=device, dtype=dtype, repeats=repeats,
            check=check, registry=registry_file, progress=report, size=size, workers=workers,
        )  # fmt: skip
    results = [result.as_dict() for result in found]
    if store:
        _store(results)
    _show(results, several=all_ or len(results) > 1, out=out, plot=plot, json_=json_)


def _show(results: list[dict[str, Any]], *, several: bool, out: Path | None, plot: Path | None, json_: bool) -> None:
    """Write, plot and print the probe results; exit 1 when a claims check disagrees with the registry."""
    from archclass.probe.report import claims_table, plot_results, print_result, unchecked_formulas

    payload: Any = results if several else results[0]
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    if plot:
        plot_results(results, plot)
    if json_:
        emit_json(payload)
    elif several:
        stdout.print(claims_table(results))
        for line in unchecked_formulas(results):
            stderr.print(f"note: state formula not checked for {line}", markup=False, soft_wrap=True)
    else:
        print_result(stdout, results[0])
    disagreements = [r["target"] for r in results if r.get("registry") and not r["registry"]["agrees_all"]]
    if several and disagreements:
        stderr.print(f"measured E/C disagree with the registry for: {', '.join(disagreements)}", markup=False)
        raise typer.Exit(1)


def _run_hf(
    model_type: str | None, census: bool, config: Path | None, layers: int | None, overrides: dict[str, Any],
    lengths: list[int] | None, device: str, dtype: str, check: bool, json_: bool, out: Path | None,
) -> None:  # fmt: skip
    """`probe --hf`, `--hf-config` and `--hf-all`; with --json a failure is still a JSON object on stdout."""
    from archclass.probe import hf, hf_census, hf_report

    try:
        if census:
            progress = hf_report.census_progress(stderr)
            rows: Any = hf_census.census(lengths=lengths or hf.DEFAULT_LENGTHS, progress=progress)
        else:
            rows = hf.probe_hf(
                model_type or "", overrides=overrides, config_path=config, layers=layers,
                lengths=lengths or hf.DEFAULT_LENGTHS, device=device, dtype=dtype, check=check,
            ).as_dict()  # fmt: skip
    except ArchclassError as error:
        if not json_:
            raise
        emit_json({"error": str(error), "model_type": model_type, "kind": getattr(error, "kind", None)})
        raise SystemExit(1) from None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rows, indent=1, ensure_ascii=not census) + "\n", encoding="utf-8")
        if census:
            stderr.print(f"wrote {out}", markup=False)
    if json_:
        emit_json(rows)
    elif census:
        stdout.print(hf_report.census_table(rows))
        stdout.print(hf_report.census_summary(rows))
    else:
        for line in hf_report.hf_result_lines(rows):
            stdout.print(line)
        stdout.print(hf_report.hf_result_table(rows))
        for note in rows["notes"]:
            stdout.print(f"  note: {note}", soft_wrap=True, markup=False)


def _store(results: list[dict[str, Any]]) -> None:
    """Keep the runs in the database; the output is still printed when that fails, with a warning."""
    from archclass import db

    try:
        for result in results:
            db.record_probe_run(result)
    except ArchclassError as error:
        stderr.print(f"warning: probe results not stored in the database: {error}", markup=False)


def register(app: typer.Typer) -> None:
    reference_app = typer.Typer(
        help="Reference implementations (small PyTorch models of each family).",
        epilog="Example: archclass reference list",
    )
    app.add_typer(reference_app, name="reference")
    reference_app.command("list", epilog="Example: archclass reference list --json")(reference_list)
    app.command(
        "probe",
        epilog=(
            "Examples: archclass probe --arch mamba | archclass probe --all --json --out probe.json | "
            "archclass probe --module my.py:MyLayer --kw d_model=64 --kw window=128"
        ),
    )(probe_command)
