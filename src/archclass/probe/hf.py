"""Probe what people run: a Hugging Face transformers causal LM, measured through its own cache.

`archclass probe --hf MODEL_TYPE` builds a random-weight model of that type from its config class (no
download), shrunk to a size two CPU cores can step but with the layer pattern kept: the first layers up
to one of each layer kind (so a 3:1 linear-to-full hybrid keeps 3:1), windows scaled below the probed
lengths. It prefills T tokens with one forward pass, as inference engines do, and counts the scalars the
model's own cache object holds (found generically by :mod:`archclass.probe.state`); it then counts the
FLOPs of one decode step on a private copy of that cache. The growth of both with T classifies the
implementation with the same rules as the registry.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError
from archclass.probe.hf_config import (
    DEFAULT_LENGTHS,
    LAYER_KEYS,
    PATTERN_KEYS,
    REPORTED_KEYS,
    VOCAB,
    HFProbeError,
    first_line,
    import_transformers,
    small_config,
)
from archclass.probe.state import StateCount, count_state


@dataclass
class HFResult:
    """A transformers model probed through its own cache."""

    model_type: str
    config: dict[str, Any]
    layers: int
    layer_kinds: list[str]
    lengths: list[int]
    state_scalars: list[int]
    step_flops: list[int]
    step_seconds: list[float]
    state_by_kind: dict[str, list[int]]
    state_growth: str
    compute_growth: str
    placement: str
    efficient: bool
    compact: bool
    recall: bool
    cache_class: str
    notes: list[str] = field(default_factory=list)
    transformers_version: str = ""
    device: str = "cpu"
    dtype: str = "float32"
    parameters: int = 0
    state_bytes: list[int] = field(default_factory=list)
    timing: str = "eager (wall clock)"
    floor_seconds: list[float] = field(default_factory=list)
    copy_bandwidth_bytes_per_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cache_argument(model: Any) -> str:
    parameters = inspect.signature(model.forward).parameters
    for name in ("cache", "past_key_values", "cache_params", "state"):
        if name in parameters:
            return name
    raise HFProbeError(f"{type(model).__name__}.forward takes no cache argument", "not-causal")


def _cache_of(output: Any) -> Any:
    for name in ("cache", "past_key_values", "cache_params", "state"):
        cache = getattr(output, name, None)
        if cache is not None:
            return cache
    return None


def _layer_kinds(config: Any, count: int) -> list[str]:
    for key in PATTERN_KEYS:
        pattern = getattr(config, key, None)
        if isinstance(pattern, (list, str)) and len(pattern) >= count:
            return [str(kind) for kind in list(pattern)[:count]]
    return ["layer"] * count


def _layer_of(path: str) -> int | None:
    match = re.search(r"\[(\d+)\]", path)
    return int(match.group(1)) if match else None


class _Runner:
    """Prefill and decode one model with its own cache."""

    def __init__(self, model: Any, vocab: int, device: Any, longest: int, repeats: int) -> None:
        import torch

        self.torch = torch
        self.model = model
        self.argument = _cache_argument(model)
        parameters = inspect.signature(model.forward).parameters
        self.takes_position = "cache_position" in parameters
        self.generic_cache = False
        # Only the last position's logits are needed: at T = 65,536 a full vocabulary of logits is gigabytes.
        self.last_logits = {"logits_to_keep": 1} if "logits_to_keep" in parameters else {}
        generator = torch.Generator().manual_seed(0)
        # Tokens for the longest prefill and the decode steps after it (a 65,536-token run once read
        # past a fixed-size draw and decoded an empty input).
        tokens = longest + _static_steps(repeats) + 1
        self.tokens = torch.randint(0, vocab, (1, tokens), generator=generator).to(device)

    def prefill(self, length: int) -> Any:
        with self.torch.no_grad():
            output = self.model(input_ids=self.tokens[:, :length], use_cache=True, **self.last_logits)
        cache = _cache_of(output)
        self.generic_cache = type(cache).__name__ == "DynamicCache"
        if cache is None:
            raise HFProbeError(
                f"{type(self.model).__name__} returned no cache object (it may keep its state inside its "
                "modules), so its state cannot be measured through a cache",
                "no-cache",
            )
        return cache, output.logits[:, -1]

    def step(self, cache: Any, position: int) -> Any:
        kwargs: dict[str, Any] = {self.argument: cache, "use_cache": True}
        if self.takes_position:
            kwargs["cache_position"] = self.torch.tensor([position], device=self.tokens.device)
        with self.torch.no_grad():
            return self.model(input_ids=self.tokens[:, position : position + 1], **kwargs)


def probe_hf(
    model_type: str = "",
    *,
    overrides: Mapping[str, Any] | None = None,
    config_path: Path | None = None,
    layers: int | None = None,
    lengths: Sequence[int] = DEFAULT_LENGTHS,
    device: str = "cpu",
    dtype: str = "float32",
    check: bool = True,
    repeats: int = 20,
    time_steps: bool = True,
) -> HFResult:
    """Probe a transformers causal LM by model type (or a real config.json) through its own cache.

    On CUDA each decode step is timed the way speed-minded users run it: a static cache replayed as a
    CUDA graph where the model supports it (else eagerly, and the result says which), beside the memory
    floor: the bytes the step must read (state and weights) over the measured copy bandwidth.
    """
    transformers = import_transformers()
    import torch

    from archclass.classifier import classify_facts
    from archclass.probe.fit import fit_growth
    from archclass.probe.flops import counting_mode

    if len(lengths) < 3 or any(length < 2 for length in lengths):
        raise ArchclassError("give at least three lengths of 2 tokens or more")
    config = small_config(model_type, overrides, config_path, layers)
    model_type = config.model_type
    if device == "cuda" and not torch.cuda.is_available():
        raise ArchclassError("--device cuda: no CUDA device is visible to torch")
    if config_path is None:
        _refuse_if_large(transformers, config, model_type)
    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype):
        raise ArchclassError(f"--dtype {dtype!r} is not a torch dtype (float32, bfloat16, float16)")
    try:
        torch.manual_seed(0)
        model = transformers.AutoModelForCausalLM.from_config(config).to(device=device, dtype=torch_dtype).eval()
        # Inference only. And torch's FLOP counter hooks every module input that requires grad: under
        # no_grad it fails on a parameter passed as an argument, as transformers 5.25's kernel layers
        # pass the conv weight ("Expected gradient function to be set").
        model.requires_grad_(False)
    except Exception as error:
        raise _build_error(transformers, model_type, error) from None
    _refuse_fla_on_cpu(model, device)
    runner = _Runner(model, getattr(config, "vocab_size", VOCAB), device, max(lengths), repeats)
    parameters = sum(p.numel() for p in model.parameters())
    weight_bytes = step_weight_bytes(model, config)
    bandwidth = _copy_bandwidth(device) if time_steps else None
    floors: list[float] = []
    timing = "eager (wall clock)"
    counts: list[StateCount] = []
    flops: list[int] = []
    seconds: list[float] = []
    notes: list[str] = []
    cache_class = ""
    for length in sorted(lengths):
        try:
            cache, last_logits = runner.prefill(length)
            cache_class = type(cache).__name__
            count = count_state(cache)
            private = copy.deepcopy(cache)
            mode = counting_mode()
            with mode:
                output = runner.step(private, length)
            flops.append(int(mode.get_total_flops()))
            if not time_steps:
                elapsed, timing = float("nan"), "not timed"
            elif device.startswith("cuda"):
                elapsed, timing = _time_cuda(runner, config, cache, length, repeats)
            else:
                private = copy.deepcopy(cache)
                start = time.perf_counter()
                runner.step(private, length)
                elapsed = time.perf_counter() - start
            seconds.append(elapsed)
            if bandwidth and time_steps:
                floors.append((count.bytes + weight_bytes) / bandwidth)
            if check and length == min(lengths):
                _check_decode(runner, output, length, model_type)
            del cache, private
        except HFProbeError:
            raise
        except torch.cuda.OutOfMemoryError:
            per_token = counts[-1].bytes / max(sorted(lengths)[len(counts) - 1], 1) if counts else 0
            raise HFProbeError(
                f"{model_type}: out of GPU memory at T={length:,} (the cache alone would take about "
                f"{per_token * length / 2**30:.1f} GiB; try fewer --layers or shorter --lengths)",
                "memory",
            ) from None
        except Exception as error:
            if "only contain LinearAttention layers" in str(error):
                # The small config keeps every layer kind of the default, so the default has no attention
                # layer either, and transformers' mask code asks an attention layer for the length.
                raise HFProbeError(
                    f"{model_type}: transformers cannot run its default config, which has no attention layer: "
                    f"{first_line(error)}",
                    "transformers-default",
                ) from None
            raise HFProbeError(
                f"{model_type}: transformers failed at T={length}: {first_line(error)}", "transformers"
            ) from None
        counts.append(count)
        notes.extend(n for n in count.notes if n not in notes)
    kinds = _layer_kinds(config, _layers_of(config))
    by_kind: dict[str, list[int]] = {}
    for index, count in enumerate(counts):
        for path, scalars in count.by_path.items():
            layer = _layer_of(path)
            kind = kinds[layer] if layer is not None and layer < len(kinds) else "other"
            by_kind.setdefault(kind, [0] * len(counts))[index] += scalars
    state_fit = fit_growth(list(sorted(lengths)), [c.scalars for c in counts])
    compute_fit = fit_growth(list(sorted(lengths)), flops)
    grows = state_fit.growth != "constant"
    if type(model).__module__.startswith("fla."):
        # fla's layers launch Triton kernels straight from Python, outside torch's dispatcher, so the
        # FLOP and byte counters see the projections around them and not the kernel that reads the
        # cache: fla's parallax decode read as constant work over a growing cache (H200, 2026-12-03).
        if grows:
            raise HFProbeError(
                f"{model_type}: its cache grows ({state_fit.growth} in T), but fla's Triton kernels run "
                "outside torch's dispatcher, so the probe cannot count a step's work: not compact, "
                "efficiency not measured",
                "uncounted",
            )
        notes.append(
            "fla's Triton kernels are not in the counted FLOPs; the state is constant, and a step of fixed "
            "shapes over a constant state does the same work at every T, so efficiency follows from it"
        )
    facts = {"compute": compute_fit.growth, "state": state_fit.growth, "retrieval": "exact" if grows else "none"}
    flags, _ = classify_facts(facts)
    if grows:
        notes.append(
            "recall inferred from the measurement: a cache that grows with T and is read by attention "
            "holds every token (exact retrieval)"
        )
    placement = "".join(v for k, v in (("efficient", "E"), ("compact", "C"), ("recall", "R")) if flags[k]) or "none"
    return HFResult(
        model_type=model_type,
        config={k: v for k, v in config.to_dict().items() if k in REPORTED_KEYS},
        layers=_layers_of(config),
        layer_kinds=kinds,
        lengths=list(sorted(lengths)),
        state_scalars=[c.scalars for c in counts],
        step_flops=flops,
        step_seconds=seconds,
        state_by_kind=by_kind,
        state_growth=str(state_fit.growth),
        compute_growth=str(compute_fit.growth),
        placement=placement,
        efficient=flags["efficient"],
        compact=flags["compact"],
        recall=flags["recall"],
        cache_class=cache_class,
        notes=notes,
        transformers_version=transformers.__version__,
        device=device,
        dtype=dtype,
        parameters=parameters,
        state_bytes=[c.bytes for c in counts],
        timing=timing,
        floor_seconds=floors,
        copy_bandwidth_bytes_per_s=bandwidth,
    )


#: A shrunk model above this many parameters did not shrink (a size field this module does not know).
MAX_SMALL_PARAMETERS = 50_000_000


def _refuse_if_large(transformers: Any, config: Any, model_type: str) -> None:
    """Count parameters on the meta device (no memory) before building for real."""
    import torch

    try:
        with torch.device("meta"):
            skeleton = transformers.AutoModelForCausalLM.from_config(config)
    except Exception as error:
        raise _build_error(transformers, model_type, error) from None
    count = sum(p.numel() for p in skeleton.parameters())
    if count > MAX_SMALL_PARAMETERS:
        raise HFProbeError(
            f"{model_type}: cannot be built small: {count / 1e6:.0f}M parameters after shrinking "
            "(a size field archclass does not know; set it with --kw)",
            "build",
        )


def _build_error(transformers: Any, model_type: str, error: BaseException) -> HFProbeError:
    """Why the small model would not build: a missing GPU kernel or library, transformers failing on its
    own default config too (tried on the meta device, which takes no memory), or the shrinking."""
    import torch

    text = first_line(error)
    if re.search(r"cuda|triton|flash_attn|mamba_ssm|causal_conv1d", text, re.I):
        return HFProbeError(f"{model_type}: cannot build the model small: {text}", "cuda")
    if isinstance(error, ImportError):
        return HFProbeError(f"{model_type}: needs a library that is not installed: {text}", "library")
    try:
        default = transformers.AutoConfig.for_model(model_type)
        if hasattr(default, "is_decoder"):
            default.is_decoder = True  # as the small config is: a causal LM head may require it
        with torch.device("meta"):
            transformers.AutoModelForCausalLM.from_config(default)
    except Exception as default_error:
        return HFProbeError(
            f"{model_type}: transformers cannot build its own default config either: {first_line(default_error)}",
            "transformers-default",
        )
    return HFProbeError(f"{model_type}: cannot build the model small: {text}", "build")


def _copy_bandwidth(device: str) -> float | None:
    if not device.startswith("cuda"):
        return None
    import torch

    from archclass.probe.measure import copy_bandwidth

    return copy_bandwidth(torch.device(device))


#: Eager steps that run the captured step once or more before capture (lazy allocations, autotuning).
GRAPH_WARMUPS = 3


def _static_steps(repeats: int) -> int:
    """Decode steps the CUDA-graph timing writes into the static cache after the prefill: the warm-ups,
    the capture and every replay. transformers 5 keeps the static cache's write position on the device
    and advances it inside each step, graph replays included (cache_position no longer places the
    write), so every one of these steps needs a slot of its own."""
    return GRAPH_WARMUPS + 1 + max(repeats, 1)


def _time_cuda(runner: _Runner, config: Any, cache: Any, length: int, repeats: int) -> tuple[float, str]:
    """Median seconds of one decode step at LENGTH: a static cache replayed as a CUDA graph where the
    model allows it, else the dynamic cache stepped eagerly (then Python and launches dominate)."""
    import statistics

    import torch

    try:
        step = _static_step(runner, config, length, _static_steps(repeats))
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(GRAPH_WARMUPS):
                step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step()
        return statistics.median(_cuda_events(graph.replay, repeats)), "static cache, CUDA graph replay"
    except torch.cuda.OutOfMemoryError:
        raise
    except Exception as error:  # the model has no static cache, or its step cannot be captured
        private = copy.deepcopy(cache)
        note = f"eager, dynamic cache (no CUDA graph: {first_line(error)[:80]})"
        return statistics.median(_cuda_events(lambda: runner.step(copy.deepcopy(private), length), repeats)), note


def _static_step(runner: _Runner, config: Any, length: int, steps: int) -> Callable[[], Any]:
    """One decode step after LENGTH prefilled tokens, on a static cache with room for STEPS such steps.

    Each call decodes the token at LENGTH again; where transformers places the write itself (5.x), the
    k-th call writes slot LENGTH + k - 1, which is why the cache must hold every call."""
    import torch

    static = _static_cache(runner, config, length, steps)
    token = runner.tokens[:, length : length + 1].clone()
    kwargs = {
        runner.argument: static,
        "use_cache": True,
        "cache_position": torch.tensor([length], device=runner.tokens.device),
    }

    def step() -> Any:
        with torch.no_grad():
            return runner.model(input_ids=token, **kwargs)

    return step


def _static_cache(runner: _Runner, config: Any, length: int, steps: int) -> Any:
    """A static cache prefilled with the first LENGTH tokens, with STEPS slots left for decoding."""
    from transformers import StaticCache

    if runner.argument == "cache_params" or not runner.generic_cache:
        # A model with a cache class of its own (Jamba's hybrid cache, say) may index a static cache out
        # of bounds on the device, which poisons the CUDA context; only the generic cache is swapped.
        raise ValueError("the model keeps a cache class of its own, not the generic DynamicCache")
    static = StaticCache(config=config, max_cache_len=length + steps)
    import torch

    with torch.no_grad():
        runner.model(
            input_ids=runner.tokens[:, :length],
            **{
                runner.argument: static,
                "use_cache": True,
                "cache_position": torch.arange(length, device=runner.tokens.device),
            },
        )
    return static


def _cuda_events(run: Callable[[], Any], repeats: int) -> list[float]:
    import torch

    times = []
    for _ in range(max(repeats, 1)):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return times


def step_weight_bytes(model: Any, config: Any) -> int:
    """Bytes of the weights one decode step reads: every parameter, except that a mixture of experts
    reads top-k of its E experts and the input embedding one row (unless the output head shares it).
    All of an MoE's experts over copy bandwidth would put the floor above the step (Jamba's 16 experts,
    2 active: a 6.3 ms floor against a 3.5 ms step on the H200)."""
    from archclass.probe.hf_config import _EXPERT_KEYS, _EXPERT_TOPK_KEYS

    def first(keys: tuple[str, ...]) -> int | None:
        return next((int(v) for k in keys if isinstance(v := getattr(config, k, None), int) and v > 0), None)

    experts, active = first(_EXPERT_KEYS), first(_EXPERT_TOPK_KEYS)
    embedding = model.get_input_embeddings()
    head = model.get_output_embeddings()
    shared = embedding is not None and head is not None and head.weight is embedding.weight
    total = 0.0
    for name, parameter in model.named_parameters():
        size = parameter.numel() * parameter.element_size()
        if embedding is not None and parameter is embedding.weight and not shared:
            size = parameter.shape[-1] * parameter.element_size()
        elif experts and active and ".experts." in f".{name}.":
            size = size * min(active, experts) / experts
        total += size
    return int(total)


def _layers_of(config: Any) -> int:
    return next((int(getattr(config, k)) for k in LAYER_KEYS if isinstance(getattr(config, k, None), int)), 1)


def _check_decode(runner: _Runner, output: Any, length: int, model_type: str) -> None:
    """The decode step from the cache must give the logits a full forward gives at that position."""
    torch = runner.torch
    with torch.no_grad():
        full = runner.model(input_ids=runner.tokens[:, : length + 1], use_cache=False).logits[:, -1]
    stepped = output.logits[:, -1]
    tolerance = 1e-3 if stepped.dtype == torch.float32 else 5e-2
    error = (full - stepped).abs().max().item() / max(full.abs().max().item(), 1e-6)
    if not math.isfinite(error) or error > tolerance:
        raise HFProbeError(
            f"{model_type}: decoding with the cache disagrees with the full forward at T={length} "
            f"(relative error {error:.2g} > {tolerance:g}); rule: step-equals-forward (--no-check skips it)",
            "transformers",
        )


def _refuse_fla_on_cpu(model: Any, device: str) -> None:
    if device == "cpu" and type(model).__module__.startswith("fla."):
        raise HFProbeError(
            f"{type(model).__name__} is a flash-linear-attention model: its triton kernels need a GPU; "
            "probe it with --device cuda",
            "cuda",
        )
