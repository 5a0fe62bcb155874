"""The small config a transformers model type is probed at: its own defaults shrunk, layer pattern kept.

A model type's default config describes a model of billions of parameters. `shrink` makes every size
small (width, heads, head and state dims, experts, vocabulary) while keeping the relations the config
class checks (heads divide the width, groups divide heads, rotary dims fit the head, top-k fits the
experts), and keeps the layers up to one of each kind: every per-layer field (lists, index lists,
per-layer override dicts) is cut to the same layers, so a 3:1 hybrid stays 3:1.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from archclass.errors import ArchclassError

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
LAYER_KEYS = ("num_hidden_layers", "n_layer", "n_layers", "num_layers", "decoder_layers")
_POSITION_KEYS = ("max_position_embeddings", "n_positions", "n_ctx", "max_seq_len", "seq_length")
PATTERN_KEYS = ("layer_types", "layers_block_type", "block_types", "hybrid_override_pattern", "layers_block_types")
_INDEX_LIST_KEYS = ("hybrid_layer_ids", "attn_layer_indices", "full_attn_idxs", "attn_layer_idx")
_MLA = {"kv_lora_rank": 32, "q_lora_rank": 48, "qk_rope_head_dim": 8, "qk_nope_head_dim": 16, "v_head_dim": 16}
#: The config fields a result reports: the sizes that decide its state.
REPORTED_KEYS = frozenset(
    ("model_type",)
    + _WIDTH_KEYS
    + _HEAD_KEYS
    + _KV_KEYS
    + _HEAD_DIM_KEYS
    + _WINDOW_KEYS
    + _STATE_KEYS
    + LAYER_KEYS
    + PATTERN_KEYS
)
_TOKEN_KEYS = ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id", "sep_token_id")


class HFProbeError(ArchclassError):
    """A model type that cannot be probed; `kind` says why: unknown, not-causal, build, cuda, transformers."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def import_transformers() -> Any:
    try:
        import transformers
    except ModuleNotFoundError:
        raise ArchclassError("probing transformers models needs transformers: pip install 'archclass[hf]'") from None
    return transformers


def causal_lm_types() -> list[str]:
    """Every model type the installed transformers registers for AutoModelForCausalLM."""
    import_transformers()
    register_fla()
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
    key = next((k for k in PATTERN_KEYS if isinstance(values.get(k), (list, str)) and len(values[k]) > 1), None)
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
        for other in PATTERN_KEYS:
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
        if isinstance(value, dict) and any(k in value for k in _WIDTH_KEYS + LAYER_KEYS):
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
    _set(small, LAYER_KEYS, keep)
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
    transformers = import_transformers()
    types = causal_lm_types()
    if config_path is not None:
        try:
            values = json.loads(Path(config_path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise HFProbeError(f"{config_path}: not a readable config.json ({error})", "config") from None
        if not isinstance(values, dict) or "model_type" not in values:
            raise HFProbeError(f"{config_path}: a config.json needs a 'model_type' field", "config")
        model_type = values["model_type"]
    if model_type not in types and model_type in fla_types():
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
            _set(values, LAYER_KEYS, count)
            values.update(pattern)
    values = _apply_overrides(values, overrides or {})
    values.pop("transformers_version", None)
    try:
        config = type(base).from_dict(values)
    except Exception as error:  # a config class's own consistency checks
        raise HFProbeError(
            f"{model_type}: the small config is refused by transformers: {first_line(error)}", "build"
        ) from None
    if getattr(config, "is_encoder_decoder", False):
        config.is_encoder_decoder = False
    if hasattr(config, "is_decoder"):
        config.is_decoder = True
    config.use_cache = True
    return config


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200] if text else ''}"


def is_fla_type(model_type: str) -> bool:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    return any(
        config.model_type == model_type and model.__module__.startswith("fla.")
        for config, model in MODEL_FOR_CAUSAL_LM_MAPPING._extra_content.items()
    )


@functools.cache
def fla_types() -> frozenset[str]:
    """fla model types the registry maps, known without importing fla (which needs triton and a GPU)."""
    from archclass.registry import load_registry

    return frozenset(t for e in load_registry(full_check=False) for t in (e.implementations or {}).get("fla", []))


def register_fla() -> None:
    """flash-linear-attention registers its model types with transformers' Auto classes on import."""
    import importlib.util

    if importlib.util.find_spec("fla") is None:
        return
    try:
        import fla.models  # noqa: F401
    except Exception:  # fla present but unusable here (e.g. no triton driver): its types stay unknown
        return
