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


SPARE_SLOTS = 4
"""A cache buffer with spare slots holds up to this many times its filled part (_ops.room_for: a power
of two at least twice the tokens)."""


def lengths_that_fit(
    label: str, sizes: list[int], lengths: list[int], d_model: int, dtype: torch.dtype, device: torch.device,
    *, buffered: bool = False,
) -> tuple[list[int], str | None]:  # fmt: skip
    """The lengths whose probe fits in free memory, and a note naming those left out with the
    estimate; fewer than three that fit is refused before anything is allocated. buffered: the state
    keeps buffers with spare slots."""
    free = available_bytes(device)
    if free is None:
        return lengths, None

    def needed(longest: int) -> tuple[int, int, int]:
        inputs, state = estimate_bytes(sizes, longest, d_model, dtype)
        held = STATE_COPIES * state * (SPARE_SLOTS if buffered else 1)
        return inputs + held, inputs, state

    fitting = [t for t in lengths if needed(t)[0] <= free]
    total, inputs, state = needed(lengths[-1])
    estimate = (
        f"probing to T = {lengths[-1]:,} needs about {_size(total)} (input {_size(inputs)}, state "
        f"{_size(state)} at T = {lengths[-1]:,}, held {STATE_COPIES} times"
        f"{f' with up to {SPARE_SLOTS}x spare slots' if buffered else ''}), more than the {_size(free)} "
        f"free on {device.type}"
    )
    if len(fitting) < 3:
        raise ArchclassError(f"{label}: {estimate}; give shorter --lengths")
    if len(fitting) < len(lengths):
        left_out = ", ".join(f"{t:,}" for t in lengths if t not in fitting)
        return fitting, f"lengths {left_out} left out: {estimate}"
    return lengths, None
