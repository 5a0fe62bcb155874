"""What a probe run returns: a measurement at each length, the fits, the classification, the notes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from archclass.probe.fit import Fit


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
    floor_seconds: float | None = None
    """(state bytes + parameter bytes) / copy bandwidth: the least time the step can take (CUDA only)."""
    over_floor: float | None = None
    """step_seconds / floor_seconds."""


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
    cost_positions: dict[str, Any] = field(default_factory=dict)
    length_grid: dict[str, Any] = field(default_factory=dict)
    modifies_input: bool = False
    registry: dict[str, Any] | None = None
    arch_id: str | None = None
    parameter_bytes: int = 0
    time_check: dict[str, Any] = field(default_factory=dict)
    """Whether wall time grows as the counted work does (constant or growing), over the long lengths."""
    size: str | None = None
    """The named configuration (archclass.sizes) a reference was built at."""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "arch_id": self.arch_id,
            "device": self.device,
            "dtype": self.dtype,
            "d_model": self.d_model,
            "size": self.size,
            "kwargs": self.kwargs,
            "state_scan": self.state_scan,
            "cost_positions": self.cost_positions,
            "length_grid": self.length_grid,
            "modifies_input": self.modifies_input,
            "copy_bandwidth_bytes_per_s": self.copy_bandwidth,
            "parameter_bytes": self.parameter_bytes,
            "time_check": self.time_check,
            "measurements": [asdict(m) for m in self.measurements],
            "fit": {name: fit.as_dict() for name, fit in self.fit.items()},
            "classification": self.classification,
            "registry": self.registry,
            "notes": self.notes,
        }
