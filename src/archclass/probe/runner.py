"""Run an OSP module to increasing positions and measure its state and the cost of one step there.

Each call that is counted (FLOPs, bytes) or timed gets a private copy of the state, made outside the
counted or timed region, so a module that updates its state in place is measured on the state it
would really see, not on one the probe's own repeated calls have advanced.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from archclass.errors import ArchclassError
from archclass.osp import State, copy_state, state_leaves
from archclass.probe.conformance import CHECK_STEPS, Conformance, call, check_module, check_output, check_state
from archclass.probe.measure import copy_bandwidth, count_step, floor_seconds, parameter_bytes, time_step
from archclass.probe.memory import lengths_that_fit
from archclass.probe.result import Measurement, ProbeResult
from archclass.probe.state_size import StateMeter
from archclass.probe.summary import summarise

DEFAULT_CPU_LENGTHS = (128, 256, 512, 1024, 2048)
DEFAULT_CUDA_LENGTHS = (1024, 2048, 4096, 8192, 16384, 32768, 65536)
WINDOW = 8
"""Positions just before each length whose state and step cost always enter the running maxima."""
FULL_SCAN_LIMIT = 4096
"""Up to this longest length the state is measured after every token."""
COUNT_BUDGET = 30_000
"""Counting one step costs a Python call per aten operation it runs. Steps are counted at every
position from the first while the operations counted so far stay within this budget (a layer of ten
operations: every position to 3,000; an 8-layer hybrid of 200: the first 150). Beyond that, at the WINDOW positions
before each length and at SAMPLED_POSITIONS seeded positions spread log-uniformly over the rest of the
range, so a cost that peaks away from the lengths can still be seen. The budget counts operations, not
seconds, so which positions are counted does not depend on the machine."""
SAMPLED_POSITIONS = 64


@dataclass(frozen=True)
class CostScan:
    """Which positions have their step counted: every one while the count budget lasts, then the windows
    before each length and `sampled` seeded positions. The counts do not depend on the device, so a GPU
    timing run may count fewer positions (counting a d_model 4096 step on CUDA costs ~10 ms) and leave
    the guard against aliasing to the CPU run."""

    budget: int = COUNT_BUDGET
    sampled: int = SAMPLED_POSITIONS


def default_lengths(device: str) -> list[int]:
    return list(DEFAULT_CUDA_LENGTHS if device.startswith("cuda") else DEFAULT_CPU_LENGTHS)


def sparse_positions(lengths: Sequence[int], after: int, seed: int, sampled: int = SAMPLED_POSITIONS) -> list[int]:
    """The positions counted once the budget is spent at `after`: the windows before each length, and
    seeded positions drawn log-uniformly over after+1 .. the longest length."""
    longest = lengths[-1]
    chosen = {p for length in lengths for p in range(max(after + 1, length - WINDOW), length + 1)}
    if longest > after + 1:
        draw = random.Random(seed)
        low, high = math.log(after + 1), math.log(longest)
        chosen |= {min(longest, int(math.exp(draw.uniform(low, high)))) for _ in range(sampled)}
    return sorted(p for p in chosen if p > after)


class _Walk:
    """The state as the probe walks a module through its positions, with the running maxima."""

    def __init__(self, model: Any, label: str, meter: StateMeter, x: Tensor, full_scan: bool) -> None:
        self.model, self.label, self.meter, self.x, self.full_scan = model, label, meter, x, full_scan
        self.state: State = call(label, "init_state", model.init_state, 1)
        self.position = 0
        self.max_state = meter.scalars(self.state)
        self.max_flops = self.max_bytes = 0
        self.graph_failure = ""
        """Why a constant-shape state could not be stepped by CUDA-graph replay, the first time it failed."""

    def track(self, state: State) -> None:
        self.max_state = max(self.max_state, self.meter.scalars(state))

    def reach(self, target: int) -> None:
        """Advance the state to `target` tokens read: when far and not scanning, on CUDA by replaying a
        captured step from here where the state keeps its shape (a recurrent state: 131k replays cost
        seconds at d_model 4096, where some parallel forms loop over the tokens), else by a prefill
        from the start; otherwise by steps."""
        far = target - self.position > WINDOW and not self.full_scan
        if far and self.x.is_cuda:
            graphed = _advance_graphed(self, self.position, target)
            if graphed is not None:
                self.state, self.position = graphed, target
                return
        if far:
            prefilled = _try_prefill(self.model, self.label, self.x[:, :target])
            if prefilled is not None:
                self.state, self.position = prefilled, target
                self.track(prefilled)
                return
        self.state = _advance(self, self.position, target)
        self.position = target

    def count(self) -> tuple[int, int, int]:
        """FLOPs, bytes and operations of the step at the current position (count_step gives the step a
        private copy of the state, made before counting starts)."""
        where = f" at position {self.position}"
        y, cost = call(self.label, "step", count_step, self.model, self.x[:, self.position], self.state, where=where)
        check_output(self.label, y, 1, self.x.shape[-1], where)
        self.max_flops, self.max_bytes = max(self.max_flops, cost.flops), max(self.max_bytes, cost.bytes)
        return cost.flops, cost.bytes, cost.operations


def _advance(walk: _Walk, start: int, stop: int) -> State:
    state = walk.state
    if walk.x.is_cuda and stop - start > 256:
        graphed = _advance_graphed(walk, start, stop)
        if graphed is not None:
            return graphed
    with torch.no_grad():
        for position in range(start, stop):
            _, state = call(walk.label, "step", walk.model.step, walk.x[:, position], state, where=f" at {position}")
            walk.track(state)
    return state


def _signature(state: State) -> list[tuple[str, Any]]:
    """Paths with tensor shapes and Python values: equal before and after a step when one captured step
    can stand for every step."""
    return [(path, leaf.shape if isinstance(leaf, Tensor) else leaf) for path, leaf in state_leaves(state)]


def _advance_graphed(walk: _Walk, start: int, stop: int) -> State | None:
    """Step a constant-shape state on CUDA by replaying one captured step: ~15 us a token instead of
    the launches of an eager step, which makes stepping to 65k positions affordable. Returns None
    when the state changes shape or Python values from step to step (a growing cache, a step counter)
    or the step cannot be captured."""
    model, x = walk.model, walk.x
    try:
        with torch.no_grad():
            _, probe_state = model.step(x[:, start], copy_state(walk.state))
            if _signature(probe_state) != _signature(walk.state):
                return None
            static_x = x[:, start].clone()
            static_state = copy_state(walk.state)
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                model.step(static_x, copy_state(walk.state))
            torch.cuda.current_stream().wait_stream(stream)
            targets = dict(state_leaves(static_state))
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                _, next_state = model.step(static_x, static_state)
                for path, source in state_leaves(next_state):
                    if isinstance(source, Tensor) and source is not targets[path]:
                        targets[path].copy_(source)
            for position in range(start, stop):
                static_x.copy_(x[:, position])
                graph.replay()
            walk.track(static_state)  # constant shapes: a buffer's filled part only grows, so the last is largest
            return copy_state(static_state)
    except Exception as error:  # not capturable (host syncs, data-dependent shapes): step eagerly instead
        torch.cuda.synchronize()
        if not walk.graph_failure:
            walk.graph_failure = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:200]
        return None


def _try_prefill(model: Any, label: str, x: Tensor) -> State | None:
    """The state after x from the module's prefill_state or parallel prefill, or None (neither, or out
    of memory: a quadratic parallel form at 65k tokens can need more memory than the device has)."""
    try:
        with torch.no_grad():
            if callable(getattr(model, "prefill_state", None)):
                return call(label, "prefill_state", model.prefill_state, x)
            if not callable(getattr(model, "prefill", None)):
                return None
            return call(label, "prefill", model.prefill, x)[1]
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
    repeats: int = 20,
    check: bool = True,
    progress: Callable[[int], None] | None = None,
    seed: int = 0,
    scan: CostScan = CostScan(),
) -> ProbeResult:
    """Check `model`, then measure it at each length; classify E and C from the exact counts."""
    lengths = validate_settings(lengths, d_model, repeats)
    torch_device = torch.device(device)
    threads = torch.get_num_threads()
    if torch_device.type == "cpu":
        # A decode step of batch 1 is too small to share between threads; on a busy machine the
        # threads' waiting made each operation a hundred times slower.
        torch.set_num_threads(1)
    try:
        with torch.no_grad():  # init_state may build from parameters: no autograd history in states
            model = call(label, "to", lambda: model.to(device=torch_device, dtype=dtype).eval())
            generator = torch.Generator().manual_seed(seed)
            checked = torch.randn(1, CHECK_STEPS, d_model, generator=generator).to(device=torch_device, dtype=dtype)
            conformance = check_module(model, label, checked, check=check)
            buffered = bool(conformance.buffers)
            lengths, left_out = lengths_that_fit(
                label, conformance.sizes, lengths, d_model, dtype, torch_device, buffered=buffered
            )
            if left_out:
                conformance.notes.append(left_out)
            x = torch.randn(1, lengths[-1] + 1, d_model, generator=generator).to(device=torch_device, dtype=dtype)
            return _measure(model, label, x, lengths, conformance, dict(kwargs or {}), repeats, progress, seed, scan)
    except torch.OutOfMemoryError:
        raise ArchclassError(f"{label}: out of memory on {device}; give shorter --lengths") from None
    finally:
        torch.set_num_threads(threads)


def validate_settings(lengths: Sequence[int], d_model: int, repeats: int) -> list[int]:
    chosen = sorted({int(t) for t in lengths})
    if len(chosen) < 3 or chosen[0] < 1:
        raise ArchclassError("give at least three positive lengths, e.g. --lengths 256,512,1024,2048")
    if isinstance(d_model, bool) or not isinstance(d_model, int) or d_model < 1:
        raise ArchclassError(f"d_model must be a positive integer, not {d_model!r}")
    if repeats < 1:
        raise ArchclassError(f"repeats must be at least 1 (timed calls of each step), not {repeats}")
    return chosen


def _measure(
    model: Any,
    label: str,
    x: Tensor,
    lengths: list[int],
    conformance: Conformance,
    kwargs: dict[str, Any],
    repeats: int,
    progress: Callable[[int], None] | None,
    seed: int,
    scan: CostScan = CostScan(),
) -> ProbeResult:
    bandwidth = copy_bandwidth(x.device) if x.is_cuda else None
    weights = parameter_bytes(model)
    full_scan = lengths[-1] <= FULL_SCAN_LIMIT
    walk = _Walk(model, label, conformance.meter, x, full_scan)
    measurements: list[Measurement] = []
    length_set = set(lengths)
    operations, dense_until, sparse = 0, lengths[-1], []
    position = 0
    while True:
        dense = position <= dense_until
        counted = dense or position in sparse
        flops, nbytes, ops = walk.count() if counted else (0, 0, 0)
        operations += ops if dense else 0
        if dense and operations > scan.budget and position < lengths[-1]:
            dense_until = position
            sparse = sparse_positions(lengths, position, seed, scan.sampled)
        if position in length_set:
            measurements.append(_measurement(walk, position, flops, nbytes, repeats, bandwidth, weights))
            if progress:
                progress(position)
        following = [p for p in (*sparse, *lengths) if p > position]
        if position >= lengths[-1]:
            break
        walk.reach(position + 1 if position < dense_until else min(following))
        position = walk.position
    initial = conformance.meter.scalars(call(label, "init_state", model.init_state, 1))
    result = summarise(label, measurements, str(x.device.type), x.dtype, x.shape[-1], kwargs, initial)
    result.copy_bandwidth = bandwidth
    result.parameter_bytes = weights
    result.state_scan = "every position" if full_scan else "the positions whose step is counted"
    if dense_until >= lengths[-1]:
        result.cost_positions = {"rule": "every position", "count": lengths[-1] + 1}
    else:
        rule = (
            f"every position up to {dense_until} (the count budget of {scan.budget:,} operations), then the "
            f"{WINDOW} before each length and {scan.sampled} seeded positions spread log-uniformly over "
            f"{dense_until + 1}..{lengths[-1]} (seed {seed})"
        )
        result.cost_positions = {"rule": rule, "count": dense_until + 1 + len(sparse), "positions": sparse}
    result.modifies_input = conformance.modifies_input
    result.notes = conformance.notes + result.notes
    if walk.graph_failure:
        # Its lengths were reached by prefill or eager steps instead, which can take minutes at 131k.
        result.notes.append(
            f"the state keeps its shape but a step could not be replayed as a CUDA graph: {walk.graph_failure}"
        )
    return result


def _measurement(
    walk: _Walk, length: int, flops: int, nbytes: int, repeats: int, bandwidth: float | None, weights: int
) -> Measurement:
    where = f" at T={length}"
    check_state(walk.label, walk.state, where)
    scalars, state_bytes = walk.meter.measure(walk.state)
    step = walk.x[:, length]
    seconds, timing = call(walk.label, "step", time_step, walk.model, step, walk.state, repeats, where=where)
    floor = floor_seconds(state_bytes, weights, bandwidth) if bandwidth else None
    return Measurement(
        length=length,
        state_scalars=scalars,
        state_bytes=state_bytes,
        step_flops=flops,
        step_bytes=nbytes,
        step_seconds=seconds,
        max_state_scalars=walk.max_state,
        max_step_flops=walk.max_flops,
        max_step_bytes=walk.max_bytes,
        timing=timing,
        bandwidth_fraction=(nbytes / seconds) / bandwidth if bandwidth and seconds > 0 else None,
        floor_seconds=floor,
        over_floor=seconds / floor if floor else None,
    )
