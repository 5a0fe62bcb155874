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
from archclass.probe.hf_layers import LAYER_KEYS, PATTERN_KEYS, cut_layers

DEFAULT_LENGTHS = (64, 128, 256, 512)
WIDTH = 64
HEADS = 4
HEAD_DIM = 16
FFN = 128
VOCAB = 512
STATE = 8
WINDOW = 24
EXPERTS = 4

_WIDTH_KEYS = (
    "hidden_size",
    "n_embd",
    "d_model",
    "model_dim",
    "embed_dim",
    "embedding_dim",
    "emb_dim",
    "attention_hidden_size",
)
_FFN_KEYS = ("intermediate_size", "ffn_dim", "n_inner", "d_ff", "ffn_hidden_size", "block_ff_dim")
_SMALL_FFN_KEYS = (
    "moe_intermediate_size",
    "shared_expert_intermediate_size",
    "expert_intermediate_size",
    "expert_ffn_hidden_size",
)
_HEAD_KEYS = (
    "num_attention_heads",
    "n_head",
    "n_heads",
    "num_heads",
    "encoder_attention_heads",
    "decoder_attention_heads",
)
_KV_KEYS = ("num_key_value_heads", "n_kv_heads", "num_kv_heads", "multi_query_group_num")
_HEAD_DIM_KEYS = ("head_dim", "attention_head_dim", "kv_channels", "qk_head_dim", "d_head")
_WINDOW_KEYS = ("sliding_window", "attention_window_size", "window_size", "attention_chunk_size", "local_window_size")
_STATE_KEYS = ("state_size", "mamba_d_state", "ssm_state_size", "d_state")
_SSM_HEAD_KEYS = ("mamba_n_heads", "mamba_num_heads", "n_mamba_heads", "linear_num_value_heads", "linear_num_heads")
_SSM_KEY_HEAD_KEYS = ("linear_num_key_heads",)
_SSM_HEAD_DIM_KEYS = ("linear_key_head_dim", "linear_value_head_dim")
_EXPERT_KEYS = ("num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts", "zero_expert_num")
_EXPERT_TOPK_KEYS = ("num_experts_per_tok", "moe_topk", "num_experts_per_token", "moe_k")
_POSITION_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "n_ctx",
    "max_seq_len",
    "seq_length",
    "max_target_positions",
)
_ROTARY_KEYS = ("rotary_dim", "rotary_emb_dim")
_GROUP_KEYS = ("n_groups", "mamba_n_groups", "ssm_n_groups")
_INNER_KEYS = ("mamba_d_ssm",)
#: Multi-head latent attention's dims; nope + rope = HEAD_DIM, as config classes that check it expect.
_MLA = {
    "kv_lora_rank": 32,
    "q_lora_rank": 48,
    "qk_rope_head_dim": 8,
    "qk_nope_head_dim": HEAD_DIM - 8,
    "v_head_dim": HEAD_DIM,
}
#: The small size of each size field, for the per-layer lists of them.
_SIZES = {
    **dict.fromkeys(_WIDTH_KEYS, WIDTH),
    **dict.fromkeys(_FFN_KEYS, FFN),
    **dict.fromkeys(_SMALL_FFN_KEYS, FFN // 2),
    **dict.fromkeys(_HEAD_KEYS + _SSM_HEAD_KEYS, HEADS),
    **dict.fromkeys(_HEAD_DIM_KEYS + _SSM_HEAD_DIM_KEYS, HEAD_DIM),
    **dict.fromkeys(_STATE_KEYS, STATE),
    **_MLA,
}
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


def _set(values: dict[str, Any], keys: Sequence[str], new: Any, *, only_int: bool = True) -> None:
    for key in keys:
        if key in values and (not only_int or (isinstance(values[key], int) and not isinstance(values[key], bool))):
            values[key] = new


def _shrink_attention(values: Mapping[str, Any]) -> dict[str, Any]:
    """An attention sub-config (heads, kv heads, a window, its layer indices) at the small size."""
    small = dict(values)
    heads_before = next((small[k] for k in _HEAD_KEYS if _is_size(small.get(k))), None)
    kv_before = next((small[k] for k in _KV_KEYS if _is_size(small.get(k))), None)
    _set(small, _HEAD_KEYS, HEADS)
    if kv_before is not None:
        _set(small, _KV_KEYS, 1 if kv_before == 1 else (HEADS if heads_before in (None, kv_before) else HEADS // 2))
    for key in _WINDOW_KEYS:
        if _is_size(small.get(key)) and small[key] > 0:
            small[key] = WINDOW
    return small


def shrink(values: Mapping[str, Any], layers: int | None = None) -> dict[str, Any]:
    """A config dict made small, with its pattern of layer kinds, windows and ratios kept."""
    small = dict(values)
    for key, value in values.items():
        if isinstance(value, dict) and any(k in value for k in _WIDTH_KEYS + LAYER_KEYS):
            small[key] = shrink(value, layers)  # a sub-model's config (text_config, decoder_config, ...)
        elif isinstance(value, dict) and any(k in value for k in _HEAD_KEYS + _WINDOW_KEYS):
            small[key] = _shrink_attention(value)  # a hybrid's attention layers (fla's attn = {...})
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
    _set(small, [k for k in small if "vocab" in k], VOCAB)  # BLT's hash vocabularies too
    for key in _WINDOW_KEYS:
        if isinstance(small.get(key), int) and small[key] > 0:
            small[key] = WINDOW
    _set(small, _STATE_KEYS, STATE)
    _set(small, _SSM_HEAD_KEYS, HEADS)
    _set(small, _SSM_KEY_HEAD_KEYS, HEADS // 2)
    _set(small, _SSM_HEAD_DIM_KEYS, HEAD_DIM)
    _set(small, _EXPERT_KEYS, EXPERTS)
    routed = any(_is_size(small.get(k)) for k in _EXPERT_KEYS)
    for key in _EXPERT_TOPK_KEYS:  # a model built for top-1 routing may refuse top-2
        if _is_size(small.get(key)):
            small[key] = min(small[key], 2)
        elif key in small and small[key] is None and routed:  # DeepSeek-V2's default leaves it unset
            small[key] = 2
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
    for key, value in values.items():  # fla's RWKV-7 value_dim (per layer) and CAT's dim_fx: the width
        if (key.endswith("_dim") or key.startswith("dim_")) and width_before is not None:
            if value == width_before:
                small[key] = WIDTH
            elif isinstance(value, list) and value and all(v == width_before for v in value):
                small[key] = [WIDTH] * len(value)
    _keep_relations(small, values)
    for key in ("mamba_d_head", "mamba_head_dim"):
        if isinstance(small.get(key), int) and isinstance(expand, (int, float)):
            small[key] = int(expand * WIDTH) // HEADS
    if _is_size(small.get("expand_ratio")) and "num_heads" in small:
        # fla's HGRN2 and LightNet: expand_ratio is a head's forget-gate width, and a config without
        # num_heads gets hidden_size // expand_ratio heads, none once the width is small.
        small["expand_ratio"] = WIDTH // HEADS
        small["num_heads"] = HEADS
    if isinstance(small.get("time_step_rank"), int):
        small["time_step_rank"] = 8
    _set(small, _POSITION_KEYS, 8192)
    for key in _TOKEN_KEYS:
        if isinstance(small.get(key), int) and small[key] >= VOCAB:
            small[key] = min(small[key], VOCAB - 1) % VOCAB
    small.update(cut_layers(small, layers, lambda key, size: _small_size(small, key, size)))
    return small


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _keep_relations(small: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Fields the config derives from the sizes just shrunk, shrunk with them."""
    for key in _HEAD_DIM_KEYS:  # DeepSeek-V3's head_dim is its rotary dim: a head dim that was an MLA dim stays one
        twin = next((k for k in _MLA if _is_size(values.get(k)) and values[k] == values.get(key)), None)
        if twin is not None and _is_size(small.get(key)):
            small[key] = small[twin]
    heads_before = next((values[k] for k in _HEAD_KEYS if _is_size(values.get(k))), None)
    width_before = next((values[k] for k in _WIDTH_KEYS if _is_size(values.get(k))), None)
    head_before = values.get("head_dim") or (width_before // heads_before if width_before and heads_before else None)
    head_now = small.get("head_dim") or WIDTH // HEADS
    for key in _ROTARY_KEYS:  # the rotated part of each head keeps its fraction of the head (and stays even)
        if _is_size(values.get(key)) and _is_size(head_before) and _is_size(head_now) and head_before:
            small[key] = min(head_now, max(2, 2 * round(values[key] * head_now / head_before / 2)))
    heads_now = next((small[k] for k in _SSM_HEAD_KEYS + _HEAD_KEYS if _is_size(small.get(k))), HEADS)
    for key in _GROUP_KEYS:  # groups of B and C heads must divide the heads
        if _is_size(small.get(key)) and small[key] > 0:
            small[key] = math.gcd(small[key], heads_now)
    for key, parts in values.items():  # Reformer's axial position dims: parts of the width, which they sum to
        if (
            isinstance(parts, list)
            and len(parts) > 1
            and all(_is_size(p) for p in parts)
            and width_before
            and (
                sum(parts) == width_before
                and width_before % WIDTH == 0
                and all(p % (width_before // WIDTH) == 0 for p in parts)
            )
        ):
            small[key] = [p // (width_before // WIDTH) for p in parts]
    expand = small.get("mamba_expand", small.get("expand"))
    for key in _INNER_KEYS:  # the inner width the Mamba heads tile
        if _is_size(small.get(key)) and isinstance(expand, (int, float)):
            small[key] = int(expand * WIDTH)


def _small_size(small: Mapping[str, Any], key: str, size: Any) -> Any:
    """A per-layer size (a list entry, or a per-layer override) made as small as the config's own field."""
    if not isinstance(size, int) or isinstance(size, bool):
        return size
    for name in (key, key.removesuffix("_per_layer"), key.removesuffix("_list")):
        if name in small and isinstance(small[name], int) and not isinstance(small[name], bool):
            return small[name]
    return _SIZES.get(key, size)


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
    try:
        base = transformers.AutoConfig.for_model(model_type)
    except Exception as error:
        raise HFProbeError(
            f"{model_type}: transformers refuses its own default config: {first_line(error)}", "transformers-default"
        ) from None
    if config_path is None:
        values = shrink(base.to_dict(), layers)
    else:
        values = {**base.to_dict(), **values}
        if layers is not None:
            values.update(cut_layers(values, layers, lambda key, size: size))
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
    """The error in one line; where its first line only introduces the cause (a config validator's
    "Class validation error for validator ...:"), the cause is joined to it."""
    text = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    line = " ".join(text[:2]) if len(text) > 1 and text[0].endswith(":") else (text[0] if text else "")
    return f"{type(error).__name__}: {line[:300]}"


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
