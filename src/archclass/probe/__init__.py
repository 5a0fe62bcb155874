"""The probe: measured state growth and per-step cost of OSP modules, classified on E and C.

From a notebook:

    from archclass.probe import probe
    result = probe("mamba", lengths=[256, 512, 1024, 2048])   # a reference name or registry id
    result = probe(my_layer, lengths=[...])                    # a module object following the OSP
    result = probe("path/to/file.py:MyLayer", kwargs={"d_model": 64})
    result.classification["placement"], result.fit["state"].growth, result.as_dict()

Importing this package does not import torch; calling `probe` does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archclass.errors import ArchclassError

if TYPE_CHECKING:
    from archclass.probe.result import ProbeResult

DTYPES = ("float32", "float64", "bfloat16", "float16")


def probe(target: Any, **options: Any) -> ProbeResult:
    """Probe one target (see probe_targets for the options) and return its result."""
    return probe_targets([target], **options)[0]


def probe_targets(
    targets: Sequence[Any],
    *,
    d_model: int | None = None,
    kwargs: dict[str, Any] | None = None,
    lengths: Sequence[int] | None = None,
    device: str = "cpu",
    dtype: Any = None,
    repeats: int = 20,
    size: str | None = None,
    check: bool = True,
    registry: Any = None,
    seed: int = 0,
    scan: Any = None,
    progress: Callable[[str, int], None] | None = None,
    workers: int = 1,
) -> list[ProbeResult]:
    """Check and measure each target at each length; a reference's result is compared with its registry
    entry (given as a Registry, a YAML path, or None for the bundled one).

    targets: reference names, registry ids or aliases, 'path/to/file.py:Class' (built with kwargs,
    whose d_model defaults to d_model), or module objects. size: a named configuration of
    archclass.sizes (tiny, llama-3-8b, ...) that sets d_model and each reference's hyperparameters;
    default tiny on CPU, llama-3-8b on CUDA. d_model and kwargs override it. lengths default to
    128..2048 on CPU, 1k..64k on CUDA. dtype: a torch dtype or its name; default bfloat16 on CUDA,
    float32 on CPU. check=False skips the check of step against forward and
    prefill. scan: a runner.CostScan, which positions have their step counted (default: every position
    while 30,000 operations last, then the windows before each length and 64 seeded positions; a GPU
    timing run may count fewer, since the counts do not depend on the device).
    progress(label, length) is called after each measured length. workers > 1 probes several targets
    given by name in that many processes at once on CPU (see archclass.probe.parallel); 0: one per core.
    """
    import torch

    from archclass.probe.claims import compare_with_registry
    from archclass.probe.runner import default_lengths, probe_module
    from archclass.probe.targets import resolve
    from archclass.sizes import default_probe_size, get_size

    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ArchclassError(f"device {device!r}: use cpu or cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ArchclassError("device cuda: no CUDA device is available on this machine (use cpu)")
    workers = min(workers or os.cpu_count() or 1, len(targets))
    if workers > 1 and device == "cpu" and all(isinstance(target, str) for target in targets):
        from archclass.probe.parallel import probe_in_processes

        options = {
            "d_model": d_model, "kwargs": kwargs, "lengths": lengths, "device": device, "dtype": dtype,
            "repeats": repeats, "size": size, "check": check, "registry": registry, "seed": seed, "scan": scan,
        }  # fmt: skip
        return probe_in_processes(probe_targets, list(targets), workers, options, progress)
    chosen_size = get_size(size) if size is not None else default_probe_size(device)
    torch_dtype = _dtype(dtype if dtype is not None else ("bfloat16" if device.startswith("cuda") else "float32"))
    width = d_model if d_model is not None else chosen_size.d
    if lengths is None:
        lengths = default_lengths(device)
    loaded = _registry(registry)
    resolved = [
        resolve(target, d_model=width, kwargs=kwargs or {}, registry=loaded, size=chosen_size) for target in targets
    ]
    results = []
    for chosen in resolved:
        try:
            result = probe_module(
                chosen.model,
                label=chosen.label,
                d_model=chosen.d_model,
                lengths=lengths,
                device=device,
                dtype=torch_dtype,
                kwargs=chosen.kwargs,
                repeats=repeats,
                check=check,
                seed=seed,
                progress=_reporter(progress, chosen.label),
                **({} if scan is None else {"scan": scan}),
            )
        except ArchclassError:
            raise
        except Exception as error:  # a failure inside the probe itself: still one line, naming the target
            raise ArchclassError(f"probing {chosen.label} failed: {type(error).__name__}: {error}") from None
        if chosen.arch_id is not None and chosen.arch_id in loaded:
            compare_with_registry(result, chosen.arch_id, loaded, chosen.registry_symbols)
        result.size = chosen_size.name if chosen.arch_id is not None else None  # sizes shape references only
        results.append(result)
    return results


def _reporter(progress: Callable[[str, int], None] | None, label: str) -> Callable[[int], None] | None:
    if progress is None:
        return None
    report = progress
    return lambda length: report(label, length)


def _dtype(dtype: Any) -> Any:
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise ArchclassError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    return getattr(torch, dtype)


def _registry(registry: Any) -> Any:
    from archclass.registry import Registry, load_registry

    if isinstance(registry, Registry):
        return registry
    return load_registry(Path(registry) if registry is not None else None)
