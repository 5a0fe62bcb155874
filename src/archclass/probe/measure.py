"""What one decode step costs: FLOPs and bytes (counted, deterministic) and wall time (measured).

FLOPs come from torch's FlopCounterMode (matrix products and attention kernels; elementwise work is
not counted there). Bytes come from a dispatch mode that adds up, for every aten operation that is not
a view, the bytes of its tensor inputs and outputs: a model of memory traffic with no caches, which is
what a long-context decode step approaches once its state outgrows them. Both counts depend only on
the program and the shapes, so CPU tests can rely on them.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

from archclass.osp import OnlineSequenceProcessor, State


def _tensor_bytes(tree: Any) -> int:
    return sum(leaf.numel() * leaf.element_size() for leaf in tree_leaves(tree) if isinstance(leaf, Tensor))


class BytesCounter(TorchDispatchMode):
    """Bytes read and written by every non-view aten operation run under it."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes_read = 0
        self.bytes_written = 0
        self.operations = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if not getattr(func, "is_view", False):
            self.bytes_read += _tensor_bytes((args, kwargs))
            self.bytes_written += _tensor_bytes(out)
            self.operations += 1
        return out

    @property
    def total(self) -> int:
        return self.bytes_read + self.bytes_written


@dataclass(frozen=True)
class StepCost:
    flops: int
    bytes: int
    operations: int


def count_step(module: OnlineSequenceProcessor, x: Tensor, state: State) -> StepCost:
    """FLOPs and bytes of one call of `step` (the state is not modified)."""
    with torch.no_grad():
        counter = BytesCounter()
        with FlopCounterMode(display=False) as flops, counter:
            module.step(x, state)
    return StepCost(int(flops.get_total_flops()), counter.total, counter.operations)


def _time_cpu(module: OnlineSequenceProcessor, x: Tensor, state: State, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        module.step(x, state)
        times.append(time.perf_counter() - start)
    return times


def _time_cuda_events(run: Any, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    return times


def time_step(
    module: OnlineSequenceProcessor, x: Tensor, state: State, *, repeats: int = 30, warmup: int = 5, graphs: bool = True
) -> tuple[float, str]:
    """Median seconds of one step after warm-up, and how it was timed.

    On CUDA the step is captured as a CUDA graph where the module allows it, so kernel launch overhead
    (tens of microseconds) does not hide the growth in T; otherwise CUDA events time eager calls.
    """
    with torch.no_grad():
        for _ in range(warmup):
            module.step(x, state)
        if x.device.type != "cuda":
            return statistics.median(_time_cpu(module, x, state, repeats)), "cpu perf_counter"
        torch.cuda.synchronize()
        if graphs:
            try:
                stream = torch.cuda.Stream()
                stream.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(stream):
                    for _ in range(2):
                        module.step(x, state)
                torch.cuda.current_stream().wait_stream(stream)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    module.step(x, state)
                graph.replay()
                torch.cuda.synchronize()
                return statistics.median(_time_cuda_events(graph.replay, repeats)), "cuda graph replay"
            except Exception:  # data-dependent control flow or host syncs cannot be captured
                torch.cuda.synchronize()
        return statistics.median(_time_cuda_events(lambda: module.step(x, state), repeats)), "cuda events, eager"


def copy_bandwidth(device: torch.device, megabytes: int = 1024) -> float:
    """Device-to-device copy bandwidth in bytes/s (bytes read plus written), the memory floor."""
    if device.type != "cuda":
        return float("nan")
    source = torch.empty(megabytes * 2**20, dtype=torch.uint8, device=device)
    target = torch.empty_like(source)
    for _ in range(3):
        target.copy_(source)
    seconds = statistics.median(_time_cuda_events(lambda: target.copy_(source), 10))
    return 2 * source.numel() / seconds
