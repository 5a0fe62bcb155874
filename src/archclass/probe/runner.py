"""Run an OSP module to increasing positions and measure its state and the cost of one step there."""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from archclass.classifier import classify_facts, placement_of
from archclass.errors import ArchclassError
from archclass.osp import State, prefill, state_bytes, state_scalars
from archclass.probe.fit import Fit, fit_growth
from archclass.probe.measure import copy_bandwidth, count_step, time_step

DEFAULT_CPU_LENGTHS = (128, 256, 512, 1024, 2048)
DEFAULT_CUDA_LENGTHS = (1024, 2048, 4096, 8192, 16384, 32768, 65536)
WINDOW = 8
"""Positions just before each length whose state and step cost also enter the running maxima, so a
state that peaks between powers of two (a Fenwick tree's, at 2^k - 1) is not missed."""


@dataclass
class Measurement:
    length: int
    state_scalars: int
    state_bytes: int
    step_flops: int
    step_bytes: int
    step_seconds: float
    max_state_scalars: int
    max_step_flops: int
    max_step_bytes: int
    timing: str = ""
    bandwidth_fraction: float | None = None


@dataclass
class ProbeResult:
    target: str
    device: str
    dtype: str
    d_model: int
    kwargs: dict[str, Any]
    measurements: list[Measurement]
    fit: dict[str, Fit]
    classification: dict[str, Any]
    copy_bandwidth: float | None = None
    state_scan: str = ""
    registry: dict[str, Any] | None = None
    arch_id: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "arch_id": self.arch_id,
            "device": self.device,
            "dtype": self.dtype,
            "d_model": self.d_model,
            "kwargs": self.kwargs,
            "state_scan": self.state_scan,
            "copy_bandwidth_bytes_per_s": self.copy_bandwidth,
            "measurements": [asdict(m) for m in self.measurements],
            "fit": {name: fit.as_dict() for name, fit in self.fit.items()},
            "classification": self.classification,
            "registry": self.registry,
            "notes": self.notes,
        }


def load_module_class(spec: str) -> Callable[..., nn.Module]:
    """'path/to/file.py:ClassName' to the class, with one-line errors for every way it can fail."""
    path_text, sep, name = spec.rpartition(":")
    if not sep or not path_text or not name:
        raise ArchclassError(f"--module {spec!r}: expected path/to/file.py:ClassName")
    path = Path(path_text)
    if not path.is_file():
        raise ArchclassError(f"--module {spec!r}: no such file {path}")
    module_name = f"archclass_user_{path.stem}"
    import_spec = importlib.util.spec_from_file_location(module_name, path)
    if import_spec is None or import_spec.loader is None:
        raise ArchclassError(f"--module {spec!r}: {path} is not an importable Python file")
    module = importlib.util.module_from_spec(import_spec)
    sys.modules[module_name] = module
    try:
        import_spec.loader.exec_module(module)
    except Exception as error:
        raise ArchclassError(f"--module {spec!r}: importing {path} failed: {type(error).__name__}: {error}") from None
    cls = getattr(module, name, None)
    if cls is None:
        raise ArchclassError(f"--module {spec!r}: {path} defines no {name!r}")
    return cls  # type: ignore[no-any-return]


def check_osp(model: Any, label: str) -> None:
    missing = [method for method in ("init_state", "step", "forward") if not callable(getattr(model, method, None))]
    if missing:
        raise ArchclassError(
            f"{label} does not follow the OSP interface: missing {', '.join(missing)} "
            "(see the README: init_state(batch), step(x, state), forward(x))"
        )


def _advance(model: Any, state: State, x: Tensor, start: int, stop: int, track: Callable[[State], None]) -> State:
    if x.is_cuda and stop - start > 256:
        graphed = _advance_graphed(model, state, x, start, stop, track)
        if graphed is not None:
            return graphed
    with torch.no_grad():
        for position in range(start, stop):
            _, state = model.step(x[:, position], state)
            track(state)
    return state


def _advance_graphed(
    model: Any, state: State, x: Tensor, start: int, stop: int, track: Callable[[State], None]
) -> State | None:
    """Step a constant-shape state on CUDA by replaying one captured step: ~15 us a token instead of
    the launches of an eager step, which makes stepping to 65k positions affordable. Returns None
    when the state's shapes change from step to step (a growing cache) or the step cannot be captured."""
    from archclass.osp import map_state, state_tensors

    try:
        with torch.no_grad():
            _, probe_state = model.step(x[:, start], state)
            before = [t.shape for t in state_tensors(state)]
            after = [t.shape for t in state_tensors(probe_state)]
            if before != after or not before or any(not isinstance(v, Tensor) for v in _leaves(probe_state)):
                return None
            static_x = x[:, start].clone()
            static_state = map_state(lambda t: t.clone(), state)
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                model.step(static_x, static_state)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                _, next_state = model.step(static_x, static_state)
                for target, source in zip(state_tensors(static_state), state_tensors(next_state), strict=True):
                    target.copy_(source)
            for position in range(start, stop):
                static_x.copy_(x[:, position])
                graph.replay()
            track(static_state)  # constant shapes: one count stands for every position
            return map_state(lambda t: t.clone(), static_state)
    except Exception:  # not capturable (host syncs, data-dependent shapes): step eagerly instead
        torch.cuda.synchronize()
        return None


def _leaves(state: State) -> list[Any]:
    if isinstance(state, dict):
        return [leaf for value in state.values() for leaf in _leaves(value)]
    if isinstance(state, (list, tuple)):
        return [leaf for value in state for leaf in _leaves(value)]
    return [state]


def _try_prefill(model: Any, x: Tensor) -> State | None:
    """The state after x from the module's parallel prefill, or None (no prefill, or out of memory:
    a quadratic parallel form at 65k tokens can need more memory than the device has)."""
    if not callable(getattr(model, "prefill", None)):
        return None
    try:
        with torch.no_grad():
            _, state = prefill(model, x)
        return state
    except torch.OutOfMemoryError:
        if x.device.type == "cuda":
            torch.cuda.empty_cache()
        return None


def probe_module(
    model: Any,
    *,
    label: str,
    d_model: int,
    lengths: Sequence[int],
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    kwargs: Mapping[str, Any] | None = None,
    full_scan_limit: int = 4096,
    repeats: int = 20,
    progress: Callable[[int], None] | None = None,
    seed: int = 0,
) -> ProbeResult:
    """Measure `model` at each length; classify E and C from the exact counts."""
    check_osp(model, label)
    lengths = sorted(set(int(t) for t in lengths))
    if len(lengths) < 3:
        raise ArchclassError("give at least three lengths, e.g. --lengths 256,512,1024,2048")
    torch_device = torch.device(device)
    model = model.to(device=torch_device, dtype=dtype).eval()
    generator = torch.Generator().manual_seed(seed)
    total = lengths[-1] + 1
    x = torch.randn(1, total, d_model, generator=generator).to(device=torch_device, dtype=dtype)
    bandwidth = copy_bandwidth(torch_device) if torch_device.type == "cuda" else None
    full_scan = lengths[-1] <= full_scan_limit
    running = {"state": 0}

    def track(state: State) -> None:
        running["state"] = max(running["state"], state_scalars(state))

    measurements: list[Measurement] = []
    max_flops = max_bytes = 0
    state: State = model.init_state(1)
    reached = 0
    for length in lengths:
        # Reach position (length - WINDOW) fast (prefill) or by stepping, then step through the window
        # so every position near `length` enters the running maxima.
        scan_from = max(reached, length - WINDOW) if not full_scan else reached
        if scan_from > reached:
            prefilled = _try_prefill(model, x[:, :scan_from])
            if prefilled is not None:
                state = prefilled
                track(state)
            else:
                state = _advance(model, state, x, reached, scan_from, track)
            reached = scan_from
        for position in range(reached, length):
            if length - position <= WINDOW:
                cost = count_step(model, x[:, position], state)
                max_flops, max_bytes = max(max_flops, cost.flops), max(max_bytes, cost.bytes)
            state = _advance(model, state, x, position, position + 1, track)
        reached = length
        cost = count_step(model, x[:, length], state)
        max_flops, max_bytes = max(max_flops, cost.flops), max(max_bytes, cost.bytes)
        seconds, timing = time_step(model, x[:, length], state, repeats=repeats)
        fraction = (cost.bytes / seconds) / bandwidth if bandwidth and seconds > 0 else None
        measurements.append(
            Measurement(
                length=length,
                state_scalars=state_scalars(state),
                state_bytes=state_bytes(state),
                step_flops=cost.flops,
                step_bytes=cost.bytes,
                step_seconds=seconds,
                max_state_scalars=running["state"],
                max_step_flops=max_flops,
                max_step_bytes=max_bytes,
                timing=timing,
                bandwidth_fraction=fraction,
            )
        )
        if progress:
            progress(length)
    return summarise(label, measurements, device, dtype, d_model, dict(kwargs or {}), bandwidth, full_scan)


def summarise(
    label: str,
    measurements: list[Measurement],
    device: str,
    dtype: torch.dtype,
    d_model: int,
    kwargs: dict[str, Any],
    bandwidth: float | None,
    full_scan: bool,
) -> ProbeResult:
    lengths = [m.length for m in measurements]
    state_fit = fit_growth(lengths, [m.max_state_scalars for m in measurements])
    flops_fit = fit_growth(lengths, [m.max_step_flops for m in measurements])
    bytes_fit = fit_growth(lengths, [m.max_step_bytes for m in measurements])
    time_fit = fit_growth(lengths, [m.step_seconds for m in measurements], exact=False)
    # Compute grows if either count grows: a step can move more bytes with the same matrix products.
    compute_fit = max(flops_fit, bytes_fit, key=lambda f: (_rank(f.growth), f.exponent))
    flags, fired = classify_facts(
        {"compute": compute_fit.growth, "state": state_fit.growth, "retrieval": "none"},
        {
            "per_step_compute": f"measured {compute_fit.growth} (exponent {compute_fit.exponent})",
            "state_size": f"measured {state_fit.growth} (exponent {state_fit.exponent})",
            "compute_class": compute_fit.growth,
            "state_class": state_fit.growth,
            "compute_growth": f"T^{compute_fit.exponent:g}",
            "state_growth": f"T^{state_fit.exponent:g}",
        },
    )
    notes = []
    if time_fit.growth != compute_fit.growth and (time_fit.growth == "constant") != (compute_fit.growth == "constant"):
        notes.append(
            f"wall time looks {time_fit.growth} while the counted work is {compute_fit.growth}: "
            "on small steps launch overhead and caches hide growth; E is decided from the counts"
        )
    classification = {
        "efficient": flags["efficient"],
        "compact": flags["compact"],
        "recall": None,
        "placement": placement_of(flags["efficient"], flags["compact"], False),
        "rules": [asdict(f) for f in fired if f.property != "recall"],
        "recall_note": "recall is not measured by the probe: see `archclass recall`",
    }
    return ProbeResult(
        target=label,
        device=device,
        dtype=str(dtype).removeprefix("torch."),
        d_model=d_model,
        kwargs=kwargs,
        measurements=measurements,
        fit={"state": state_fit, "compute": compute_fit, "flops": flops_fit, "bytes": bytes_fit, "time": time_fit},
        classification=classification,
        copy_bandwidth=bandwidth,
        state_scan="every position" if full_scan else f"the {WINDOW} positions before each length",
        notes=notes,
    )


def _rank(growth: str) -> int:
    return ["constant", "polylog", "sublinear", "linear", "superlinear"].index(growth)


def compare_with_registry(
    result: ProbeResult, arch_id: str, registry: Any, state_formula_values: dict[str, float] | None
) -> None:
    """Fill result.registry with the declared classification and whether each property agrees."""
    from archclass.classifier import classify_entry
    from archclass.complexity import ComplexityError, parse_formula

    entry = registry.get(arch_id)
    declared = classify_entry(entry, registry)
    measured = result.classification
    agreement = {
        "efficient": declared.efficient == measured["efficient"],
        "compact": declared.compact == measured["compact"],
    }
    block: dict[str, Any] = {
        "id": entry.id,
        "declared": {
            "efficient": declared.efficient,
            "compact": declared.compact,
            "recall": declared.recall,
            "placement": declared.placement,
        },
        "agrees": agreement,
        "agrees_all": all(agreement.values()),
    }
    # Measured placement with the declared recall, for the table.
    measured["placement"] = placement_of(measured["efficient"], measured["compact"], declared.recall)
    measured["recall"] = declared.recall
    measured["recall_note"] = "recall taken from the registry's declared retrieval; the probe does not measure it"
    if entry.inference and entry.inference.state_scalars and state_formula_values is not None:
        try:
            formula = parse_formula(entry.inference.state_scalars, set(entry.hyperparameters))
            last = result.measurements[-1]
            layers = state_formula_values.get("layers", 1)
            expected = formula.evaluate({**state_formula_values, "T": last.length}) * layers
            block["state_formula"] = {
                "formula": entry.inference.state_scalars,
                "values": state_formula_values,
                "expected_at_longest": expected,
                "measured_at_longest": last.state_scalars,
                "agrees": math.isclose(expected, last.state_scalars, rel_tol=1e-9),
            }
        except ComplexityError as error:
            block["state_formula"] = {"formula": entry.inference.state_scalars, "error": str(error)}
    result.registry = block
    result.arch_id = entry.id
