"""The transformers census: every causal-LM model type probed small, each in a process of its own.

A model that hangs, crashes or exhausts memory cannot stop the census: each type runs in a forked child
with a timeout. The parent imports torch, transformers and the modules every model shares before it
forks, so a child only imports its own model's module: importing transformers' modeling stack costs
seconds, far more than probing a small model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from archclass.probe.hf import probe_hf
from archclass.probe.hf_config import DEFAULT_LENGTHS, HFProbeError, causal_lm_types, first_line, import_transformers

Progress = Callable[[str], None]


#: Seconds one model type may take in the census before it is recorded as timed out.
CENSUS_TIMEOUT = 60.0


def _probe_in_child(model_type: str, lengths: Sequence[int], sender: Any, device: str, dtype: str) -> None:
    import torch

    torch.set_num_threads(1)
    if device == "auto":  # on a GPU machine fla's kernels (which transformers also calls) need the GPU
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        result = probe_hf(model_type, lengths=lengths, device=device, dtype=dtype, time_steps=False)
        sender.send(("ok", result.as_dict()))
    except HFProbeError as error:
        sender.send(("error", (str(error), error.kind)))
    except BaseException as error:  # transformers itself failed in a way probe_hf does not expect
        sender.send(("error", (f"{model_type}: transformers failed: {first_line(error)}", "transformers")))


class _Child:
    """One model type probed in a forked process, so that a model that hangs or exhausts memory cannot
    stop the census; the parent has imported torch and transformers, so a fork starts at once."""

    def __init__(self, model_type: str, lengths: Sequence[int], device: str, dtype: str) -> None:
        import multiprocessing

        # A forked child cannot use CUDA once the parent has touched it (fla's import may have), so a
        # model type bound for the GPU gets a fresh interpreter.
        gpu = device == "auto" and _cuda_present()
        context: Any = multiprocessing.get_context("spawn" if gpu else "fork")
        self.model_type = model_type
        self.receiver, sender = context.Pipe(duplex=False)
        arguments = (model_type, lengths, sender, device, dtype)
        self.process = context.Process(target=_probe_in_child, args=arguments, daemon=True)
        self.process.start()
        sender.close()
        self.started = time.monotonic()

    def outcome(self) -> tuple[str, Any]:
        try:
            outcome: tuple[str, Any] = self.receiver.recv()
        except EOFError:
            self.process.join(5)
            outcome = (
                "error",
                (
                    f"{self.model_type}: the probe process died (exit code {self.process.exitcode}), "
                    "e.g. out of memory",
                    "crash",
                ),
            )
        self.stop()
        return outcome

    def stop(self) -> None:
        self.process.join(1)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.receiver.close()


#: What every probe imports: loaded once in the parent, so that forked children share them. Importing
#: transformers' modeling stack takes 10-20 s of CPU, far more than probing one small model.
_SHARED_MODULES = (
    "torch",
    "torch.utils.flop_counter",
    "transformers.modeling_utils",
    "transformers.cache_utils",
    "transformers.masking_utils",
    "transformers.generation",
    "transformers.modeling_layers",
    "transformers.models.llama.modeling_llama",
    "archclass.classifier",
    "archclass.probe.fit",
    "archclass.probe.flops",
)


def _import_shared_modules() -> None:
    import importlib

    import_transformers()
    for name in _SHARED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # a module an older or newer transformers lacks: its children import what they use
            continue
    causal_lm_types()  # imports fla, where it is installed, which registers its model types


def census(
    registry: Any = None,
    types: Sequence[str] | None = None,
    progress: Progress | None = None,
    lengths: Sequence[int] = DEFAULT_LENGTHS,
    timeout: float = CENSUS_TIMEOUT,
    workers: int | None = None,
    device: str = "cpu",
    on_row: Callable[[dict[str, Any]], None] | None = None,
    dtype: str = "float32",
) -> list[dict[str, Any]]:
    """Every causal-LM model type classified, or given a one-line reason; compared with the registry.

    Model types run in forked processes, WORKERS at a time (default: one per CPU core), each with
    TIMEOUT seconds, in DTYPE (fla's chunked kernels refuse float32: bfloat16 on a GPU). on_row gets
    each type's row as soon as it is done, so a run cut short keeps them."""
    import os
    from multiprocessing.connection import wait

    from archclass.registry import load_registry

    _import_shared_modules()
    registry = registry or load_registry()
    owners = _implementation_owners(registry)
    pending = list(types or causal_lm_types())
    outcomes: dict[str, tuple[str, Any]] = {}
    running: list[_Child] = []
    limit = max(1, workers or os.cpu_count() or 1)
    while pending or running:
        while pending and len(running) < limit:
            running.append(_Child(pending.pop(0), lengths, device, dtype))
        ready = wait([child.receiver for child in running], timeout=1.0)
        for child in list(running):
            late = time.monotonic() - child.started > timeout
            if child.receiver in ready or late:
                running.remove(child)
                if child.receiver in ready:
                    outcomes[child.model_type] = child.outcome()
                else:
                    child.stop()
                    outcomes[child.model_type] = (
                        "error",
                        (f"{child.model_type}: timed out after {timeout:.0f} s", "timeout"),
                    )
                if on_row:
                    on_row(
                        _census_row(
                            child.model_type, outcomes[child.model_type], owners.get(child.model_type), registry
                        )
                    )
                if progress:
                    progress(child.model_type)
    return [_census_row(t, outcomes[t], owners.get(t), registry) for t in (types or causal_lm_types())]


def _census_row(model_type: str, outcome: tuple[str, Any], registry_id: str | None, registry: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "model_type": model_type,
        "placement": None,
        "error": None,
        "error_kind": None,
        "registry_id": registry_id,
        "registry_placement": None,
        "agrees": None,
    }
    status, payload = outcome
    if status == "ok":
        row.update(
            placement=payload["placement"],
            state_growth=payload["state_growth"],
            compute_growth=payload["compute_growth"],
            layer_kinds=sorted(set(payload["layer_kinds"])),
            cache_class=payload["cache_class"],
            state_scalars=payload["state_scalars"],
            lengths=payload["lengths"],
        )
    else:
        row.update(error=payload[0], error_kind=payload[1])
    if registry_id:
        row["registry_placement"] = _declared_placement(registry, registry_id)
        if row["placement"] is not None:
            row["agrees"] = row["placement"] == row["registry_placement"]
    return row


def _declared_placement(registry: Any, arch_id: str) -> str:
    from archclass.classifier import classify_entry

    return classify_entry(registry.get(arch_id), registry).placement


def _implementation_owners(registry: Any) -> dict[str, str]:
    """The registry entry of each model type: transformers' names first, then fla's (fla registers its
    model types with transformers, so the census meets them under the same names)."""
    owners: dict[str, str] = {}
    for library in ("transformers", "fla"):
        for entry in registry:
            for model_type in (getattr(entry, "implementations", None) or {}).get(library, []):
                owners.setdefault(model_type, entry.id)
    return owners


def _cuda_present() -> bool:
    """Whether a GPU is there, asked without initialising CUDA in this (forking) process."""
    import torch

    return bool(torch.cuda.device_count()) if hasattr(torch.cuda, "device_count") else False
