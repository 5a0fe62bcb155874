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
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError
from archclass.probe.state import StateCount, count_state

DEFAULT_LENGTHS = (64, 128, 256, 512)
WIDTH = 64
HEADS = 4
HEAD_DIM = 16
FFN = 128
VOCAB = 512
STATE = 8
WINDOW = 24
EXPERTS = 4

_WIDTH_KEYS = ("hidden_size", "n_embd", "d_model", "model_dim", "embed_dim", "attention_hidden_size")
_FFN_KEYS = ("intermediate_size", "ffn_dim", "n_inner", "d_ff", "ffn_hidden_size", "block_ff_dim")
_SMALL_FFN_KEYS = ("moe_intermediate_size", "shared_expert_intermediate_size", "expert_intermediate_size")
_HEAD_KEYS = (
    "num_attention_heads",
    "n_head",
    "n_heads",
    "num_heads",
    "encoder_attention_heads",
    "decoder_attention_heads",
)
_KV_KEYS = ("num_key_value_heads", "n_kv_heads", "num_kv_heads", "multi_query_group_num")
_HEAD_DIM_KEYS = ("head_dim", "attention_head_dim", "kv_channels", "qk_head_dim")
_WINDOW_KEYS = ("sliding_window", "attention_window_size", "window_size", "attention_chunk_size", "local_window_size")
_STATE_KEYS = ("state_size", "mamba_d_state", "ssm_state_size", "d_state")
_SSM_HEAD_KEYS = ("mamba_n_heads", "mamba_num_heads", "n_mamba_heads", "linear_num_value_heads", "linear_num_heads")
_SSM_KEY_HEAD_KEYS = ("linear_num_key_heads",)
_SSM_HEAD_DIM_KEYS = ("linear_key_head_dim", "linear_value_head_dim")
_EXPERT_KEYS = ("num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts")
_EXPERT_TOPK_KEYS = ("num_experts_per_tok", "moe_topk", "num_experts_per_token")
_LAYER_KEYS = ("num_hidden_layers", "n_layer", "n_layers", "num_layers", "decoder_layers")
_POSITION_KEYS = ("max_position_embeddings", "n_positions", "n_ctx", "max_seq_len", "seq_length")
_PATTERN_KEYS = ("layer_types", "layers_block_type", "block_types", "hybrid_override_pattern", "layers_block_types")
_INDEX_LIST_KEYS = ("hybrid_layer_ids", "attn_layer_indices", "full_attn_idxs", "attn_layer_idx")
_MLA = {"kv_lora_rank": 32, "q_lora_rank": 48, "qk_rope_head_dim": 8, "qk_nope_head_dim": 16, "v_head_dim": 16}
_TOKEN_KEYS = ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id", "sep_token_id")


class HFProbeError(ArchclassError):
    """A model type that cannot be probed; `kind` says why: unknown, not-causal, build, cuda, transformers."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


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


def _transformers() -> Any:
    try:
        import transformers
    except ModuleNotFoundError:
        raise ArchclassError("probing transformers models needs transformers: pip install 'archclass[hf]'") from None
    return transformers


def causal_lm_types() -> list[str]:
    """Every model type the installed transformers registers for AutoModelForCausalLM."""
    _transformers()
    _register_fla()
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING, MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    registered = {config.model_type for config in MODEL_FOR_CAUSAL_LM_MAPPING._extra_content}
    return sorted(set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES) | registered)


def _period(pattern: Sequence[Any]) -> int:
    """Layers up to and including the first of each kind: keeps every kind and the leading ratio."""
    firsts: dict[Any, int] = {}
    for index, kind in enumerate(pattern):
        firsts.setdefault(json.dumps(kind, sort_keys=True, default=str), index)
    return max(firsts.values()) + 1 if firsts else 1


def _layer_count(values: Mapping[str, Any], per_kind: int | None) -> tuple[int, dict[str, Any]]:
    """Which layers to keep, and the pattern fields cut to them.

    Where the config lists each layer's kind, keep the first PER_KIND layers of every kind (default: the
    layers up to the first of each kind, which keeps the leading ratio); where it derives kinds from a
    period (Jamba's attn_layer_period), keep PER_KIND periods (default one); otherwise PER_KIND layers.
    """
    changes: dict[str, Any] = {}
    periods = [int(values[k]) for k in values if k.endswith("_layer_period") and isinstance(values[k], int)]
    key = next((k for k in _PATTERN_KEYS if isinstance(values.get(k), (list, str)) and len(values[k]) > 1), None)
    if key is not None:
        pattern = list(values[key])
        if per_kind is None:
            selected = list(range(_period(pattern)))
        else:
            taken: dict[str, int] = {}
            selected = []
            for index, kind in enumerate(pattern):
                name = json.dumps(kind, sort_keys=True, default=str)
                if taken.get(name, 0) < per_kind:
                    taken[name] = taken.get(name, 0) + 1
                    selected.append(index)
        kept = [pattern[i] for i in selected]
        changes[key] = "".join(kept) if isinstance(values[key], str) else kept
        for other in _PATTERN_KEYS:
            if other != key and isinstance(values.get(other), list) and len(values[other]) == len(pattern):
                changes[other] = [values[other][i] for i in selected]
    else:
        count = (math.lcm(*periods) if periods else 1) * (per_kind or (1 if periods else 2))
        selected = list(range(count))
    for name in _INDEX_LIST_KEYS:
        indices = values.get(name)
        if isinstance(indices, list):
            changes[name] = [selected.index(i) for i in indices if i in selected]
    return len(selected), changes


def _set(values: dict[str, Any], keys: Sequence[str], new: Any, *, only_int: bool = True) -> None:
    for key in keys:
        if key in values and (not only_int or (isinstance(values[key], int) and not isinstance(values[key], bool))):
            values[key] = new


def shrink(values: Mapping[str, Any], layers: int | None = None) -> dict[str, Any]:
    """A config dict made small, with its pattern of layer kinds, windows and ratios kept."""
    small = dict(values)
    for key, value in values.items():
        if isinstance(value, dict) and any(k in value for k in _WIDTH_KEYS + _LAYER_KEYS):
            small[key] = shrink(value, layers)  # a sub-model's config (text_config, decoder_config, ...)
    heads_before = next((small[k] for k in _HEAD_KEYS if isinstance(small.get(k), int)), None)
    kv_before = next((small[k] for k in _KV_KEYS if isinstance(small.get(k), int)), None)
    _set(small, _WIDTH_KEYS, WIDTH)
    _set(small, _FFN_KEYS, FFN)
    _set(small, _SMALL_FFN_KEYS, FFN // 2)
    _set(small, _HEAD_KEYS, HEADS)
    if kv_before is not None:
        kv = 1 if kv_before == 1 else (HEADS if heads_before in (None, kv_before) else HEADS // 2)
        _set(small, _KV_KEYS, kv)
    _set(small, _HEAD_DIM_KEYS, HEAD_DIM)
    _set(small, ("vocab_size",), VOCAB)
    for key in _WINDOW_KEYS:
        if isinstance(small.get(key), int) and small[key] > 0:
            small[key] = WINDOW
    _set(small, _STATE_KEYS, STATE)
    _set(small, _SSM_HEAD_KEYS, HEADS)
    _set(small, _SSM_KEY_HEAD_KEYS, HEADS // 2)
    _set(small, _SSM_HEAD_DIM_KEYS, HEAD_DIM)
    _set(small, _EXPERT_KEYS, EXPERTS)
    _set(small, _EXPERT_TOPK_KEYS, 2)
    _set(small, ("n_shared_experts", "num_shared_experts"), 1)
    _set(small, ("n_group", "topk_group"), 1)
    for key, value in _MLA.items():
        _set(small, (key,), value)
    expand = small.get("mamba_expand", small.get("expand"))
    width_before = next((values[k] for k in _WIDTH_KEYS if isinstance(values.get(k), int)), None)
    if (  # Mamba-2's heads tile the inner width exactly: keep num_heads * head_dim == expand * width
        isinstance(expand, (int, float))
        and isinstance(values.get("num_heads"), int)
        and isinstance(values.get("head_dim"), int)
        and width_before is not None
        and values["num_heads"] * values["head_dim"] == expand * width_before
    ):
        small["head_dim"] = int(expand * WIDTH) // small["num_heads"]
    for key in ("mamba_d_head", "mamba_head_dim"):
        if isinstance(small.get(key), int) and isinstance(expand, (int, float)):
            small[key] = int(expand * WIDTH) // HEADS
    if isinstance(small.get("time_step_rank"), int):
        small["time_step_rank"] = 8
    _set(small, _POSITION_KEYS, 8192)
    for key in _TOKEN_KEYS:
        if isinstance(small.get(key), int) and small[key] >= VOCAB:
            small[key] = min(small[key], VOCAB - 1) % VOCAB
    keep, pattern = _layer_count(small, layers)
    _set(small, _LAYER_KEYS, keep)
    small.update(pattern)
    return small


def _apply_overrides(values: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in overrides.items():
        if key not in values:
            close = [k for k in values if key.replace("_", "") in k.replace("_", "")][:5]
            hint = f"; fields with a similar name: {', '.join(close)}" if close else ""
            raise ArchclassError(f"--kw {key}: the config has no field {key!r}{hint}")
        values[key] = value
    return values


def small_config(
    model_type: str,
    overrides: Mapping[str, Any] | None = None,
    config_path: Path | None = None,
    layers: int | None = None,
) -> Any:
    """The config of MODEL_TYPE (or of the config.json at CONFIG_PATH), shrunk unless it is a real one."""
    transformers = _transformers()
    types = causal_lm_types()
    if config_path is not None:
        try:
            values = json.loads(Path(config_path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise HFProbeError(f"{config_path}: not a readable config.json ({error})", "config") from None
        if not isinstance(values, dict) or "model_type" not in values:
            raise HFProbeError(f"{config_path}: a config.json needs a 'model_type' field", "config")
        model_type = values["model_type"]
    if model_type not in types and model_type in _fla_types():
        raise HFProbeError(
            f"{model_type!r} is a flash-linear-attention model type: fla's triton kernels need a GPU; install "
            "flash-linear-attention there and probe with --device cuda",
            "cuda",
        )
    if model_type not in types:
        import difflib

        close = difflib.get_close_matches(model_type, types, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; 'archclass probe --hf-all' lists them"
        raise HFProbeError(
            f"{model_type!r} is not a causal-LM model type of transformers {transformers.__version__}{hint}", "unknown"
        )
    base = transformers.AutoConfig.for_model(model_type)
    if config_path is None:
        values = shrink(base.to_dict(), layers)
    else:
        values = {**base.to_dict(), **values}
        if layers is not None:
            count, pattern = _layer_count(values, layers)
            _set(values, _LAYER_KEYS, count)
            values.update(pattern)
    values = _apply_overrides(values, overrides or {})
    values.pop("transformers_version", None)
    try:
        config = type(base).from_dict(values)
    except Exception as error:  # a config class's own consistency checks
        raise HFProbeError(
            f"{model_type}: the small config is refused by transformers: {_first_line(error)}", "build"
        ) from None
    if getattr(config, "is_encoder_decoder", False):
        config.is_encoder_decoder = False
    if hasattr(config, "is_decoder"):
        config.is_decoder = True
    config.use_cache = True
    return config


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200] if text else ''}"


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
    for key in _PATTERN_KEYS:
        pattern = getattr(config, key, None)
        if isinstance(pattern, (list, str)) and len(pattern) >= count:
            return [str(kind) for kind in list(pattern)[:count]]
    return ["layer"] * count


def _layer_of(path: str) -> int | None:
    match = re.search(r"\[(\d+)\]", path)
    return int(match.group(1)) if match else None


class _Runner:
    """Prefill and decode one model with its own cache."""

    def __init__(self, model: Any, vocab: int, device: Any) -> None:
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
        self.tokens = torch.randint(0, vocab, (1, max(DEFAULT_LENGTHS) * 64), generator=generator).to(device)

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
    transformers = _transformers()
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
    except Exception as error:
        text = _first_line(error)
        kind = "cuda" if re.search(r"cuda|triton|kernel|flash_attn|mamba_ssm|causal_conv1d", text, re.I) else "build"
        raise HFProbeError(f"{model_type}: cannot build the model small: {text}", kind) from None
    _refuse_fla_on_cpu(model, device)
    runner = _Runner(model, getattr(config, "vocab_size", VOCAB), device)
    parameters = sum(p.numel() for p in model.parameters())
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
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
            raise HFProbeError(
                f"{model_type}: transformers failed at T={length}: {_first_line(error)}", "transformers"
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
        config={k: v for k, v in config.to_dict().items() if _interesting(k)},
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
        text = _first_line(error)
        kind = "cuda" if re.search(r"cuda|triton|flash_attn|mamba_ssm|causal_conv1d", text, re.I) else "build"
        raise HFProbeError(f"{model_type}: cannot build the model small: {text}", kind) from None
    count = sum(p.numel() for p in skeleton.parameters())
    if count > MAX_SMALL_PARAMETERS:
        raise HFProbeError(
            f"{model_type}: cannot be built small: {count / 1e6:.0f}M parameters after shrinking "
            "(a size field archclass does not know; set it with --kw)",
            "build",
        )


def _copy_bandwidth(device: str) -> float | None:
    if not device.startswith("cuda"):
        return None
    import torch

    from archclass.probe.measure import copy_bandwidth

    return copy_bandwidth(torch.device(device))


def _time_cuda(runner: _Runner, config: Any, cache: Any, length: int, repeats: int) -> tuple[float, str]:
    """Median seconds of one decode step at LENGTH: a static cache replayed as a CUDA graph where the
    model allows it, else the dynamic cache stepped eagerly (then Python and launches dominate)."""
    import statistics

    import torch

    try:
        static = _static_cache(runner, config, length)
        position = torch.tensor([length], device=runner.tokens.device)
        token = runner.tokens[:, length : length + 1].clone()
        kwargs = {runner.argument: static, "use_cache": True, "cache_position": position}
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), torch.no_grad():
            for _ in range(3):
                runner.model(input_ids=token, **kwargs)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.no_grad():
            runner.model(input_ids=token, **kwargs)
        return statistics.median(_cuda_events(graph.replay, repeats)), "static cache, CUDA graph replay"
    except torch.cuda.OutOfMemoryError:
        raise
    except Exception as error:  # the model has no static cache, or its step cannot be captured
        private = copy.deepcopy(cache)
        note = f"eager, dynamic cache (no CUDA graph: {_first_line(error)[:80]})"
        return statistics.median(_cuda_events(lambda: runner.step(copy.deepcopy(private), length), repeats)), note


def _static_cache(runner: _Runner, config: Any, length: int) -> Any:
    from transformers import StaticCache

    if runner.argument == "cache_params" or not runner.generic_cache:
        # A model with a cache class of its own (Jamba's hybrid cache, say) may index a static cache out
        # of bounds on the device, which poisons the CUDA context; only the generic cache is swapped.
        raise ValueError("the model keeps a cache class of its own, not the generic DynamicCache")
    static = StaticCache(config=config, max_cache_len=length + 8)
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


def _cuda_present() -> bool:
    """Whether a GPU is there, asked without initialising CUDA in this (forking) process."""
    import torch

    return bool(torch.cuda.device_count()) if hasattr(torch.cuda, "device_count") else False


def _is_fla_type(model_type: str) -> bool:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    return any(
        config.model_type == model_type and model.__module__.startswith("fla.")
        for config, model in MODEL_FOR_CAUSAL_LM_MAPPING._extra_content.items()
    )


def _fla_types() -> set[str]:
    """fla model types the registry maps, known without importing fla (which needs triton and a GPU)."""
    from archclass.registry import load_registry

    return {t for e in load_registry(full_check=False) for t in (e.implementations or {}).get("fla", [])}


def _register_fla() -> None:
    """flash-linear-attention registers its model types with transformers' Auto classes on import."""
    import importlib.util

    if importlib.util.find_spec("fla") is None:
        return
    try:
        import fla.models  # noqa: F401
    except Exception:  # fla present but unusable here (e.g. no triton driver): its types stay unknown
        return


def _refuse_fla_on_cpu(model: Any, device: str) -> None:
    if device == "cpu" and type(model).__module__.startswith("fla."):
        raise HFProbeError(
            f"{type(model).__name__} is a flash-linear-attention model: its triton kernels need a GPU; "
            "probe it with --device cuda",
            "cuda",
        )


def _layers_of(config: Any) -> int:
    return next((int(getattr(config, k)) for k in _LAYER_KEYS if isinstance(getattr(config, k, None), int)), 1)


def _interesting(key: str) -> bool:
    return (
        any(
            key in keys
            for keys in (
                _WIDTH_KEYS,
                _HEAD_KEYS,
                _KV_KEYS,
                _HEAD_DIM_KEYS,
                _WINDOW_KEYS,
                _STATE_KEYS,
                _LAYER_KEYS,
                _PATTERN_KEYS,
            )
        )
        or key == "model_type"
    )


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


Progress = Callable[[str], None]


#: Seconds one model type may take in the census before it is recorded as timed out.
CENSUS_TIMEOUT = 60.0


def _probe_in_child(model_type: str, lengths: Sequence[int], sender: Any, device: str) -> None:
    import torch

    torch.set_num_threads(1)
    if device == "auto":  # on a GPU machine fla's kernels (which transformers also calls) need the GPU
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        result = probe_hf(model_type, lengths=lengths, device=device, time_steps=False)
        sender.send(("ok", result.as_dict()))
    except HFProbeError as error:
        sender.send(("error", (str(error), error.kind)))
    except BaseException as error:  # transformers itself failed in a way probe_hf does not expect
        sender.send(("error", (f"{model_type}: transformers failed: {_first_line(error)}", "transformers")))


class _Child:
    """One model type probed in a forked process, so that a model that hangs or exhausts memory cannot
    stop the census; the parent has imported torch and transformers, so a fork starts at once."""

    def __init__(self, model_type: str, lengths: Sequence[int], device: str) -> None:
        import multiprocessing

        # A forked child cannot use CUDA once the parent has touched it (fla's import may have), so a
        # model type bound for the GPU gets a fresh interpreter.
        gpu = device == "auto" and _cuda_present()
        context: Any = multiprocessing.get_context("spawn" if gpu else "fork")
        self.model_type = model_type
        self.receiver, sender = context.Pipe(duplex=False)
        arguments = (model_type, lengths, sender, device)
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


def census(
    registry: Any = None,
    types: Sequence[str] | None = None,
    progress: Progress | None = None,
    lengths: Sequence[int] = DEFAULT_LENGTHS,
    timeout: float = CENSUS_TIMEOUT,
    workers: int | None = None,
    device: str = "cpu",
) -> list[dict[str, Any]]:
    """Every causal-LM model type classified, or given a one-line reason; compared with the registry.

    Model types run in forked processes, WORKERS at a time (default: one per CPU core), each with
    TIMEOUT seconds."""
    import os
    from multiprocessing.connection import wait

    import torch  # noqa: F401  (imported here once, so that every forked child shares it)

    from archclass.registry import load_registry

    _transformers()
    registry = registry or load_registry()
    owners = _implementation_owners(registry)
    pending = list(types or causal_lm_types())
    outcomes: dict[str, tuple[str, Any]] = {}
    running: list[_Child] = []
    limit = max(1, workers or os.cpu_count() or 1)
    while pending or running:
        while pending and len(running) < limit:
            running.append(_Child(pending.pop(0), lengths, device))
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
    owners: dict[str, str] = {}
    for entry in registry:
        for model_type in (getattr(entry, "implementations", None) or {}).get("transformers", []):
            owners[model_type] = entry.id
    return owners
