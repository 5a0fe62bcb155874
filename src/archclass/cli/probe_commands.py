"""`archclass probe` and `archclass reference list`: measurement of reference and user modules."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from archclass.cli.options import RegistryOption
from archclass.cli.output import emit_json, fail, parse_key_values, stderr, stdout
from archclass.errors import ArchclassError

DTYPES = ("float32", "float64", "bfloat16", "float16")


def _lengths(text: Optional[str], device: str) -> list[int]:
    from archclass.probe.runner import DEFAULT_CPU_LENGTHS, DEFAULT_CUDA_LENGTHS

    if not text:
        return list(DEFAULT_CUDA_LENGTHS if device == "cuda" else DEFAULT_CPU_LENGTHS)
    try:
        lengths = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a comma-separated list of integers", param_hint="--lengths"
        ) from None
    if len(lengths) < 3 or lengths[0] < 1:
        raise typer.BadParameter("give at least three positive lengths, e.g. 256,512,1024", param_hint="--lengths")
    return lengths


def _kw(items: list[str]) -> dict[str, Any]:
    return parse_key_values(items, "--kw", "d_model=64")


def _progress(total: int, label: str) -> Any:
    """A Rich progress bar on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import Progress

    progress = Progress(console=stderr, transient=True)
    progress.start()
    task = progress.add_task(label, total=total)
    return progress, task


def register(app: typer.Typer) -> None:
    reference_app = typer.Typer(
        help="Reference implementations (small PyTorch models of each family).",
        epilog="Example: archclass reference list",
    )
    app.add_typer(reference_app, name="reference")

    @reference_app.command("list", epilog="Example: archclass reference list --json")
    def reference_list(json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
        """Every reference implementation with its registry id and parameter count (d_model=64)."""
        from archclass.reference import build, catalog

        rows: list[dict[str, Any]] = []
        for name, spec in sorted(catalog().items()):
            model = build(spec, 64)
            rows.append(
                {
                    "name": name,
                    "arch_id": spec.arch_id,
                    "parameters": sum(p.numel() for p in model.parameters()),
                    "kwargs": dict(spec.kwargs),
                    "prefill": callable(getattr(model, "prefill", None)),
                }
            )
        if json_:
            emit_json(rows)
            return
        from rich.table import Table

        table = Table(
            "reference",
            "registry id",
            "parameters (d=64)",
            "hyperparameters",
            "prefill",
            title=f"{len(rows)} reference implementations",
        )
        for row in rows:
            table.add_row(
                row["name"],
                row["arch_id"],
                f"{row['parameters']:,}",
                ", ".join(f"{k}={v}" for k, v in row["kwargs"].items()),
                "yes" if row["prefill"] else "no",
            )
        stdout.print(table)

    @app.command(
        epilog=(
            "Examples: archclass probe --arch mamba | archclass probe --all --json --out probe.json | "
            "archclass probe --module my.py:MyLayer --kw d_model=64 --kw window=128"
        )
    )
    def probe(
        arch: Annotated[
            list[str], typer.Option("--arch", "-a", help="Registry id/alias or reference name (repeatable).")
        ] = [],  # noqa: B006
        all_: Annotated[
            bool, typer.Option("--all", help="Probe every reference implementation (the claims check).")
        ] = False,
        module: Annotated[
            Optional[str], typer.Option("--module", help="Your OSP module: path/to/file.py:ClassName.")
        ] = None,
        kw: Annotated[list[str], typer.Option("--kw", help="Constructor argument KEY=VALUE (repeatable).")] = [],  # noqa: B006
        d_model: Annotated[int, typer.Option(help="Model width for reference implementations.")] = 64,
        device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
        dtype: Annotated[str, typer.Option(help="float32, float64, bfloat16 or float16.")] = "float32",
        lengths: Annotated[
            Optional[str],
            typer.Option(help="Comma-separated positions T (default: 128..2048 on CPU, 1k..64k on CUDA)."),
        ] = None,
        repeats: Annotated[int, typer.Option(help="Timed repetitions of each step (median reported).")] = 20,
        json_: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
        out: Annotated[Optional[Path], typer.Option("--out", help="Also write the JSON here.")] = None,
        plot: Annotated[Optional[Path], typer.Option("--plot", help="Write log-log plots (PNG or SVG) here.")] = None,
        store: Annotated[bool, typer.Option("--store/--no-store", help="Record the runs in the database.")] = True,
        registry_file: RegistryOption = None,
    ) -> None:
        """Measure state growth and per-step cost as T grows, classify from the measurements, check the registry.

        E and C are decided from exact counts (state scalars; FLOPs and bytes of one step), never from
        wall time alone; wall time is reported beside them.
        """
        chosen = sum(bool(x) for x in (arch, all_, module))
        if chosen != 1:
            raise typer.BadParameter(
                "give exactly one of --arch ID, --all or --module FILE.py:Class", param_hint="--arch"
            )
        if dtype not in DTYPES:
            raise typer.BadParameter(f"{dtype!r} is not one of {', '.join(DTYPES)}", param_hint="--dtype")
        if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
            raise typer.BadParameter(f"{device!r}: use cpu or cuda", param_hint="--device")
        import torch

        if device.startswith("cuda") and not torch.cuda.is_available():
            fail("--device cuda: no CUDA device is available on this machine (use --device cpu)")
        from archclass.probe.claims import registry_symbols
        from archclass.probe.runner import compare_with_registry, load_module_class, probe_module
        from archclass.reference import build, catalog, for_arch

        torch_dtype = getattr(torch, dtype)
        chosen_lengths = _lengths(lengths, "cuda" if device.startswith("cuda") else "cpu")
        targets: list[tuple[str, Any, int, dict[str, Any], Any]] = []
        from archclass.registry import load_registry

        registry = load_registry(registry_file)
        if module:
            kwargs = _kw(kw)
            width = int(kwargs.get("d_model", d_model))
            kwargs.setdefault("d_model", width)
            cls = load_module_class(module)
            try:
                model = cls(**kwargs)
            except Exception as error:
                fail(f"--module {module}: constructing {getattr(cls, '__name__', cls)}(**{kwargs}) failed: {error}")
            targets.append((module, model, width, kwargs, None))
        else:
            specs = list(catalog().values()) if all_ else []
            for name in arch:
                spec = for_arch(name)
                if spec is None and name in registry:
                    spec = for_arch(registry.get(name).id)
                if spec is None:
                    known = ", ".join(sorted(catalog()))
                    fail(f"no reference implementation for {name!r}; available: {known}")
                assert spec is not None
                specs.append(spec)
            for spec in sorted(specs, key=lambda s: s.name):
                extra = _kw(kw)
                targets.append((spec.name, build(spec, d_model, **extra), d_model, {**spec.kwargs, **extra}, spec))

        results: list[dict[str, Any]] = []
        bar = _progress(len(targets) * len(chosen_lengths), "probing")
        try:
            for label, model, width, kwargs, spec in targets:

                def advance(_: int) -> None:
                    if bar:
                        bar[0].advance(bar[1])

                if bar:
                    bar[0].update(bar[1], description=f"probing {label}")
                try:
                    result = probe_module(
                        model,
                        label=label,
                        d_model=width,
                        lengths=chosen_lengths,
                        device=device,
                        dtype=torch_dtype,
                        kwargs=kwargs,
                        repeats=repeats,
                        progress=advance,
                    )
                except ArchclassError:
                    raise
                except Exception as error:
                    raise ArchclassError(f"probing {label} failed: {type(error).__name__}: {error}") from None
                if spec is not None and spec.arch_id in registry:
                    symbols = registry_symbols(spec.name, width, kwargs)
                    compare_with_registry(result, spec.arch_id, registry, symbols)
                results.append(result.as_dict())
        finally:
            if bar:
                bar[0].stop()

        if store:
            _store(results)
        payload: Any = results[0] if len(results) == 1 and not all_ else results
        several = all_ or len(results) > 1
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        if plot:
            from archclass.probe.report import plot_results

            plot_results(results, plot)
        if json_:
            emit_json(payload)
        else:
            from archclass.probe.report import print_result

            if several:
                _claims_table(results)
            else:
                for printed in results:
                    print_result(stdout, printed)
        disagreements = [r["target"] for r in results if r.get("registry") and not r["registry"]["agrees_all"]]
        if several and disagreements:
            stderr.print(f"measured E/C disagree with the registry for: {', '.join(disagreements)}", markup=False)
            raise typer.Exit(1)


def _claims_table(results: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(
        "reference",
        "registry id",
        "declared",
        "measured",
        "state growth",
        "compute growth",
        "time growth",
        "state formula",
        "agrees",
        title="declared versus measured",
    )
    for r in results:
        registry = r.get("registry") or {}
        formula = registry.get("state_formula") or {}
        formula_text = "-" if "agrees" not in formula else ("ok" if formula["agrees"] else "WRONG")
        table.add_row(
            r["target"],
            registry.get("id", "-"),
            registry.get("declared", {}).get("placement", "-"),
            r["classification"]["placement"],
            f"{r['fit']['state']['growth']} ({r['fit']['state']['exponent']:g})",
            f"{r['fit']['compute']['growth']} ({r['fit']['compute']['exponent']:g})",
            f"{r['fit']['time']['growth']} ({r['fit']['time']['exponent']:g})",
            formula_text,
            "yes" if registry.get("agrees_all") else ("-" if not registry else "NO"),
        )
    stdout.print(table)


def _store(results: list[dict[str, Any]]) -> None:
    try:
        from archclass import db
    except ImportError:
        return
    record = getattr(db, "record_probe_run", None)
    if record is None:
        return
    try:
        for result in results:
            record(result)
    except ArchclassError as error:
        stderr.print(f"warning: probe results not stored in the database: {error}", markup=False)
