"""Refuse a probe that cannot fit in memory before allocating anything for it, with the estimate."""

from __future__ import annotations

import os

import torch

from archclass.errors import ArchclassError

STATE_COPIES = 3
"""A state is held up to three times at once: the walked state, the private copy a counted or timed
call gets, and the state that call returns."""


def available_bytes(device: torch.device) -> int | None:
    """Free memory on the device (None where it cannot be read)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def estimate_bytes(sizes: list[int], longest: int, d_model: int, dtype: torch.dtype) -> tuple[int, int]:
    """(input bytes, state bytes at `longest`) from the state's bytes after each of the first steps:
    the growth per token over the second half of those steps, continued in a straight line (a cache
    grows linearly; a constant state stays)."""
    half = len(sizes) // 2
    per_token = max(0.0, (sizes[-1] - sizes[half]) / max(1, len(sizes) - 1 - half))
    state = int(sizes[-1] + per_token * max(0, longest - (len(sizes) - 1)))
    element = torch.empty((), dtype=dtype).element_size()
    # The input is drawn in float32 on the host, then cast and moved.
    inputs = (longest + 1) * d_model * (4 + element)
    return inputs, state


def _size(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:,.0f} {unit}" if unit == "B" else f"{nbytes:,.1f} {unit}"
        nbytes /= 1000
    return f"{nbytes:.1f} TB"


def refuse_if_too_large(
    label: str, sizes: list[int], longest: int, d_model: int, dtype: torch.dtype, device: torch.device
) -> None:
    inputs, state = estimate_bytes(sizes, longest, d_model, dtype)
    needed = inputs + STATE_COPIES * state
    free = available_bytes(device)
    if free is not None and needed > free:
        raise ArchclassError(
            f"{label}: probing to T = {longest:,} needs about {_size(needed)} (input {_size(inputs)}, state "
            f"{_size(state)} at T = {longest:,}, held {STATE_COPIES} times), more than the {_size(free)} "
            f"free on {device.type}; give shorter --lengths"
        )
