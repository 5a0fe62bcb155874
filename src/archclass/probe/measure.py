"""What one decode step costs: FLOPs and bytes (counted, deterministic) and wall time (measured).

FLOPs are those torch's FlopCounterMode would count (matrix products and attention kernels, by its
formula registry; elementwise work is not counted there). Bytes are, for every aten operation that is
not a view, the bytes of its tensor inputs and outputs: a model of memory traffic with no caches, which
is what a long-context decode step approaches once its state outgrows them. Both are counted in one
dispatch mode, since the Python call per operation is most of what counting costs, and both depend
only on the program and the shapes, so CPU tests can rely on them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from archclass.osp import OnlineSequenceProcessor, State, copy_state, state_leaves


def _tensor_bytes(items: Any) -> int:
    """Bytes of the tensors among an aten call's arguments or results: a tensor, or a sequence whose
    items are tensors or sequences of tensors (cat's list), which is as deep as aten nests them. A
    pytree walk did the same at 6x the cost, and this runs for every operation the probe counts."""
    if isinstance(items, Tensor):
        return items.nbytes
    if not isinstance(items, (list, tuple)):  # a scalar result
        return 0
    total = 0
    for item in items:
        if isinstance(item, Tensor):
            total += item.nbytes
        elif isinstance(item, (list, tuple)):
            total += sum(inner.nbytes for inner in item if isinstance(inner, Tensor))
    return total


class StepCounter(TorchDispatchMode):
    """FLOPs, and bytes read and written, of the aten operations run under it."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0
        self.bytes_read = 0
        self.bytes_written = 0
        self.operations = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += int(formula(*args, **kwargs, out_val=out))
        if not getattr(func, "is_view", False):
            self.bytes_read += _tensor_bytes(args) + _tensor_bytes(tuple(kwargs.values()))
            self.bytes_written += _tensor_bytes(out)
            self.operations += 1
        return out

    @property
    def total_bytes(self) -> int:
        return self.bytes_read + self.bytes_written


@dataclass(frozen=True)
class StepCost:
    flops: int
    bytes: int
    operations: int


def count_step(module: OnlineSequenceProcessor, x: Tensor, state: State) -> tuple[Tensor, StepCost]:
    """The output, FLOPs and bytes of one call of `step`, on a private copy of `state` made before
    counting starts (so neither the copy is counted nor `state` changed)."""
    given = copy_state(state)
    with torch.no_grad(), StepCounter() as counter:
        y, _ = module.step(x, given)
    return y, StepCost(counter.flops, counter.total_bytes, counter.operations)


def _time_cpu(module: OnlineSequenceProcessor, x: Tensor, state: State, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        given = copy_state(state)
        start = time.perf_counter()
        module.step(x, given)
        times.append(time.perf_counter() - start)
    return times


def _time_cuda_events(run: Callable[[Any], Any], repeats: int, prepare: Callable[[], Any] | None = None) -> list[float]:
    """Seconds of each of `repeats` calls of run(prepare()); prepare runs outside the timed region."""
    times = []
    for _ in range(repeats):
        prepared = prepare() if prepare else None
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run(prepared)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    return times


def _time_graph(module: OnlineSequenceProcessor, x: Tensor, state: State, repeats: int) -> float | None:
    """Median seconds of replaying one captured step; the captured state's tensors are restored from
    `state` before every replay (outside the timed region), so a step that writes into its state in
    place is timed on the same state every time. None when the step cannot be captured."""
    try:
        static = copy_state(state)
        pairs = zip(state_leaves(static), state_leaves(state), strict=True)  # a deep copy: same leaves, same order
        inputs = [(leaf, source) for (_, leaf), (_, source) in pairs if isinstance(leaf, Tensor)]
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                module.step(x, copy_state(state))
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            module.step(x, static)

        def restore() -> None:
            for leaf, source in inputs:
                leaf.copy_(source)

        restore()
        graph.replay()
        torch.cuda.synchronize()
        return statistics.median(_time_cuda_events(lambda _: graph.replay(), repeats, prepare=restore))
    except Exception:  # data-dependent control flow or host syncs cannot be captured
        torch.cuda.synchronize()
        return None


def time_step(
    module: OnlineSequenceProcessor, x: Tensor, state: State, repeats: int = 30, warmup: int = 5, graphs: bool = True
) -> tuple[float, str]:
    """Median seconds of one step after warm-up, and how it was timed; every call gets a private copy
    of `state`, made outside the timed region.

    On CUDA the step is captured as a CUDA graph where the module allows it, so kernel launch overhead
    (tens of microseconds) does not hide the growth in T; otherwise CUDA events time eager calls.
    """
    with torch.no_grad():
        for _ in range(warmup):
            module.step(x, copy_state(state))
        if x.device.type != "cuda":
            return statistics.median(_time_cpu(module, x, state, repeats)), "cpu perf_counter"
        torch.cuda.synchronize()
        if graphs:
            seconds = _time_graph(module, x, state, repeats)
            if seconds is not None:
                return seconds, "cuda graph replay"
        eager = _time_cuda_events(lambda given: module.step(x, given), repeats, prepare=lambda: copy_state(state))
        return statistics.median(eager), "cuda events, eager"


def copy_bandwidth(device: torch.device, megabytes: int = 1024) -> float:
    """Device-to-device copy bandwidth in bytes/s (bytes read plus written), the memory floor."""
    if device.type != "cuda":
        return float("nan")
    source = torch.empty(megabytes * 2**20, dtype=torch.uint8, device=device)
    target = torch.empty_like(source)
    for _ in range(3):
        target.copy_(source)
    seconds = statistics.median(_time_cuda_events(lambda _: target.copy_(source), 10))
    return 2 * source.numel() / seconds


def parameter_bytes(module: Any) -> int:
    """Bytes of a module's parameters and buffers: what a step reads besides its state."""
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def floor_seconds(state_bytes: int, weight_bytes: int, bandwidth: float) -> float:
    """The least time a decode step can take on a device: the bytes it must read, its state and its
    weights, over the measured copy bandwidth (copy_bandwidth). The one definition of the floor, for
    the references and the transformers models alike."""
    return (state_bytes + weight_bytes) / bandwidth
