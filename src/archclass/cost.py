"""Concrete costs from the registry's formulas: state bytes and per-step work at a given T and model size.

Growth classes answer "does it grow?"; researchers also ask "how many bytes does Jamba's state take at
128k tokens, against a GQA transformer's?". This module evaluates an entry's exact ``state_scalars``
formula (or, where the entry has none, its ``state_size`` with the constants dropped, and says so) and
its ``per_step_compute`` (an order of magnitude: big-O strings carry no constants) at a named
configuration from :mod:`archclass.sizes`. No torch: it is arithmetic on the registry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from archclass import complexity
from archclass.errors import ArchclassError
from archclass.sizes import ModelSize, default_size_for, get_size

if TYPE_CHECKING:
    from rich.table import Table

    from archclass.registry import Registry
    from archclass.schema import Architecture

#: Positions above this are refused: no formula is meant to be read there.
MAX_LENGTH = 2**40


@dataclass(frozen=True)
class LayerCost:
    """One kind of layer of an architecture at one configuration."""

    arch: str
    layers: float
    state_scalars_per_layer: float
    state_exact: bool
    state_formula: str
    step_work_per_layer: float
    step_formula: str
    symbols: dict[str, float]


@dataclass(frozen=True)
class Cost:
    """An architecture's decode cost at position T for one configuration, all layers together."""

    arch: str
    name: str
    size: str
    T: int
    d: int
    layers: int
    scalar_bytes: int
    state_scalars: float
    state_bytes: float
    state_exact: bool
    step_work: float
    parts: list[LayerCost] = field(default_factory=list)
    measured: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _values(entry: Architecture, size: ModelSize, T: int, overrides: Mapping[str, float]) -> dict[str, float]:
    declared = set(entry.hyperparameters)
    values = {**entry.hyperparameter_values(), **size.values_for(entry.id, declared)}
    values.update({k: v for k, v in overrides.items() if k in declared or k == "d"})
    values["T"] = float(T)
    return values


def _evaluate(entry: Architecture, text: str, values: Mapping[str, float], field_name: str) -> float:
    declared = set(entry.hyperparameters)
    parse = complexity.parse_formula if field_name == "state_scalars" else complexity.parse
    try:
        result = parse(text, declared).evaluate(values)
    except (complexity.ComplexityError, ArithmeticError, ValueError) as error:
        raise ArchclassError(f"entry '{entry.id}': cannot evaluate {field_name} {text!r}: {error}") from None
    if not math.isfinite(result) or result < 0:
        raise ArchclassError(f"entry '{entry.id}': {field_name} {text!r} evaluates to {result}, not a size")
    return result


def _layer_cost(
    entry: Architecture, layers: float, size: ModelSize, T: int, overrides: Mapping[str, float]
) -> LayerCost:
    assert entry.inference is not None
    inference = entry.inference
    values = _values(entry, size, T, overrides)
    if inference.state_scalars:
        state = _evaluate(entry, inference.state_scalars, values, "state_scalars")
        exact, state_formula = True, inference.state_scalars
    else:
        state = _evaluate(entry, inference.state_size, values, "state_size")
        exact, state_formula = False, inference.state_size
    step = _evaluate(entry, inference.per_step_compute, values, "per_step_compute")
    used = {k: v for k, v in values.items() if k != "T"}
    return LayerCost(entry.id, layers, state, exact, state_formula, step, inference.per_step_compute, used)


def cost(
    registry: Registry,
    arch: str,
    T: int,
    size: str | ModelSize | None = None,
    overrides: Mapping[str, float] | None = None,
) -> Cost:
    """The cost of ARCH at position T for a named configuration (default: the one that is ARCH, else a
    Llama-3-8B-shaped model). ``overrides`` sets registry symbols (and ``d``) by name."""
    if isinstance(T, bool) or not isinstance(T, int) or T < 1 or T > MAX_LENGTH:
        raise ArchclassError(f"T must be a whole number of tokens from 1 to {MAX_LENGTH}, not {T!r}")
    entry = registry.get(arch)
    chosen = size if isinstance(size, ModelSize) else (get_size(size) if size else default_size_for(entry.id))
    overrides = dict(overrides or {})
    if "d" in overrides:
        chosen = ModelSize(**{**asdict(chosen), "d": int(overrides["d"])})
    if entry.components:
        parts = [
            _layer_cost(registry.get(c.arch), c.fraction * chosen.layers, chosen, T, overrides)
            for c in entry.components
        ]
    else:
        parts = [_layer_cost(entry, float(chosen.layers), chosen, T, overrides)]
    state = sum(p.layers * p.state_scalars_per_layer for p in parts)
    return Cost(
        arch=entry.id,
        name=entry.name,
        size=chosen.name,
        T=T,
        d=chosen.d,
        layers=chosen.layers,
        scalar_bytes=chosen.scalar_bytes,
        state_scalars=state,
        state_bytes=state * chosen.scalar_bytes,
        state_exact=all(p.state_exact for p in parts),
        step_work=sum(p.layers * p.step_work_per_layer for p in parts),
        parts=parts,
    )


def measured_beside(result: Cost, probe_runs: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The newest stored probe run of the same entry, with the registry formula evaluated at the probe's
    own width and length, so that the two numbers compare like with like.

    The probe runs a small reference implementation, not the named configuration, so its count is shown
    at its own settings; a formula that matches there is the evidence that the large figure is right.
    """
    runs = [run for run in probe_runs if run.get("arch_id") == result.arch and run.get("measurements")]
    if not runs:
        return None
    run = runs[-1]
    last = max(run["measurements"], key=lambda m: m["length"])
    shown: dict[str, Any] = {
        "target": run.get("target"),
        "device": run.get("device"),
        "d_model": run.get("d_model"),
        "T": last["length"],
        "state_scalars": last.get("state_scalars"),
        "state_bytes": last.get("state_bytes"),
        "step_flops": last.get("step_flops"),
    }
    formula = (run.get("registry") or {}).get("state_formula") or {}
    if formula.get("expected_at_longest") is not None:
        # The probe evaluated the entry's formula at the reference's own symbols (heads, window...).
        shown["registry_state_scalars_at_probe"] = formula["expected_at_longest"]
        shown["formula_agrees"] = formula.get("agrees")
    return shown


def costs(
    registry: Registry,
    items: Sequence[str],
    T: int,
    size: str | None = None,
    overrides: Mapping[str, float] | None = None,
    probe_runs: Sequence[Mapping[str, Any]] = (),
) -> list[Cost]:
    """The cost of each item, ID or ID@SIZE (SIZE for those without), with the newest of PROBE_RUNS of
    its entry beside it (:func:`measured_beside`)."""
    results = []
    for item in items:
        name, _, item_size = item.partition("@")
        result = cost(registry, name, T, item_size or size, overrides)
        beside = measured_beside(result, probe_runs) if probe_runs else None
        results.append(result if beside is None else replace(result, measured=beside))
    return results


def parse_length(text: str) -> int:
    """A length as people write it: 131072, 128k, 1M (k = 1024, M = 1024^2)."""
    raw = text.strip().replace("_", "").replace(",", "")
    multiplier = 1
    if raw[-1:].lower() == "k":
        multiplier, raw = 1024, raw[:-1]
    elif raw[-1:].lower() == "m":
        multiplier, raw = 1024**2, raw[:-1]
    if not raw.isdigit():
        raise ValueError(f"{text!r} is not a length; write e.g. 131072 or 128k")
    value = int(raw) * multiplier
    if value < 1 or value > MAX_LENGTH:
        raise ValueError(f"{text!r} is out of range (1 to {MAX_LENGTH} tokens)")
    return value


def human_bytes(count: float) -> str:
    """1536 -> '1.5 KiB'; binary units, three significant digits."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    value = float(count)
    for unit in units:
        if abs(value) < 1024 or unit == units[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def stored_probe_runs() -> list[dict[str, Any]]:
    """Stored probe runs from the default database, read-only; none when it does not exist."""
    from archclass import db

    reader = getattr(db, "probe_runs", None)
    try:
        return list(reader()) if reader else []
    except Exception:  # a missing or foreign database must not break an arithmetic command
        return []


def cost_table(results: Sequence[Cost]) -> Table:
    """`archclass cost`: one row per architecture, state marked ~ where only the O(.) string was evaluated."""
    from rich.table import Table

    title = f"decode cost at T = {results[0].T:,}" if len({r.T for r in results}) == 1 else "decode cost"
    table = Table(title=title)
    for column in ("arch", "size", "layers", "state", "state scalars", "work / step", "from"):
        table.add_column(column, no_wrap=column != "from", justify="right" if column != "from" else "left")
    for r in results:
        mark = "" if r.state_exact else "~"
        formulas = "; ".join(
            f"{p.layers:g} x {p.arch}: {p.state_formula}" + ("" if p.state_exact else " (O, constants dropped)")
            for p in r.parts
        )
        state = (mark + human_bytes(r.state_bytes), f"{mark}{r.state_scalars:,.0f}", f"~{r.step_work:.3g}")
        table.add_row(r.arch, r.size, str(r.layers), *state, formulas)
    return table


def measured_lines(results: Sequence[Cost]) -> list[str]:
    """For each result with a stored probe beside it: what the probe measured, and what the formula gives."""
    lines = []
    for r in results:
        if r.measured:
            m = r.measured
            formula = m.get("registry_state_scalars_at_probe")
            lines.append(
                f"  {r.arch}: probe of reference '{m['target']}' (d_model {m['d_model']}, {m['device']}) measured "
                f"{m['state_scalars']:,} state scalars at T = {m['T']:,}"
                + (f"; the registry formula gives {formula:,.0f} there" if formula is not None else "")
            )
    return lines
