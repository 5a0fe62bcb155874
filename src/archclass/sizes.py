"""Named model configurations: the widths, layer counts and hyperparameters of deployed models.

`archclass cost --size llama-3-8b` evaluates a registry entry's formulas at one of these, and the probe
builds its reference implementations at them. Every number comes from the model's released
config.json (the file name of the source is kept beside it), so a figure computed here can be traced.

Registry symbols are entry-specific (``g`` is the number of key-value heads in ``gqa`` but the number of
B/C groups in ``mamba-2``), so a configuration gives values per registry id, plus the generic head count
and head size that apply to any entry declaring ``h`` or ``dh``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from archclass.errors import ArchclassError


@dataclass(frozen=True)
class ModelSize:
    """One named configuration."""

    name: str
    d: int
    """Model width (hidden size)."""
    layers: int
    """Sequence-mixing layers of the whole model."""
    scalar_bytes: int
    """Bytes per state scalar as deployed (2 for bfloat16)."""
    heads: int
    head_dim: int
    arch: str
    """The registry entry this configuration is a real instance of ('' for none)."""
    source: str
    """Where the numbers come from."""
    symbols: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Registry-symbol values by registry id, e.g. {"gqa": {"g": 8, "dh": 128}}."""
    kv_heads: int | None = None
    d_state: int = 16
    """Mamba-1 state per channel (the Mamba default), for the SSM layers of references at this size."""
    ssd_state: int = 128
    """Mamba-2 state per head (mamba2-2.7b's)."""
    window: int = 4096
    """A sliding window (Mistral-7B's), for the windowed and budgeted attention references."""
    kv_latent: int = 512
    """MLA's cached latent per token (DeepSeek-V2-Lite's kv_lora_rank)."""
    rope_dim: int = 64
    """MLA's decoupled rotary key per token (DeepSeek-V2-Lite's qk_rope_head_dim)."""

    def values_for(self, arch_id: str, declared: set[str]) -> dict[str, float]:
        """Symbol values for one entry: generic heads and head size where declared, then the entry's own."""
        values: dict[str, float] = {"d": float(self.d)}
        if "h" in declared:
            values["h"] = float(self.heads)
        if "dh" in declared:
            values["dh"] = float(self.head_dim)
        values.update({k: float(v) for k, v in self.symbols.get(arch_id, {}).items()})
        return values


_LLAMA_GQA = {"g": 8, "dh": 128}
_MAMBA_1 = {"n": 16, "e": 2, "k": 4}

SIZES: dict[str, ModelSize] = {
    size.name: size
    for size in (
        ModelSize(
            name="tiny",
            d=64,
            layers=2,
            scalar_bytes=4,
            heads=4,
            head_dim=16,
            arch="",
            source="archclass's CPU default: small enough to step every family on two cores",
            symbols={"gqa": {"g": 2, "dh": 16}, "mqa": {"dh": 16}, "mla": {"c": 32, "r": 8, "h": 4}},
            kv_heads=2,
            ssd_state=64,
            window=32,
            kv_latent=32,
            rope_dim=8,
        ),
        ModelSize(
            name="llama-3-8b",
            d=4096,
            layers=32,
            scalar_bytes=2,
            heads=32,
            head_dim=128,
            kv_heads=8,
            arch="gqa",
            source="meta-llama/Meta-Llama-3-8B config.json: hidden_size 4096, num_hidden_layers 32, "
            "num_attention_heads 32, num_key_value_heads 8, bfloat16",
            symbols={"gqa": _LLAMA_GQA, "mqa": {"dh": 128}, "sliding-window-attention": {"w": 4096}},
        ),
        ModelSize(
            name="mistral-7b",
            d=4096,
            layers=32,
            scalar_bytes=2,
            heads=32,
            head_dim=128,
            kv_heads=8,
            arch="sliding-window-attention",
            source="mistralai/Mistral-7B-v0.1 config.json: hidden_size 4096, num_hidden_layers 32, "
            "num_attention_heads 32, num_key_value_heads 8, sliding_window 4096, bfloat16",
            symbols={"gqa": _LLAMA_GQA, "sliding-window-attention": {"w": 4096}},
        ),
        ModelSize(
            name="deepseek-v2-lite",
            d=2048,
            layers=27,
            scalar_bytes=2,
            heads=16,
            head_dim=128,
            arch="mla",
            source="deepseek-ai/DeepSeek-V2-Lite config.json: hidden_size 2048, num_hidden_layers 27, "
            "num_attention_heads 16, kv_lora_rank 512, qk_rope_head_dim 64, bfloat16",
            symbols={"mla": {"c": 512, "r": 64, "h": 16}},
        ),
        ModelSize(
            name="mamba-2.8b",
            d=2560,
            layers=64,
            scalar_bytes=2,
            heads=1,
            head_dim=2560,
            arch="mamba",
            source="state-spaces/mamba-2.8b config.json: d_model 2560, n_layer 64; d_state 16, expand 2, "
            "d_conv 4 (the Mamba defaults)",
            symbols={"mamba": _MAMBA_1},
        ),
        ModelSize(
            name="mamba2-2.7b",
            d=2560,
            layers=64,
            scalar_bytes=2,
            heads=80,
            head_dim=64,
            arch="mamba-2",
            source="state-spaces/mamba2-2.7b config.json: d_model 2560, n_layer 64; d_state 128, expand 2, "
            "headdim 64, ngroups 1, d_conv 4",
            symbols={"mamba-2": {"n": 128, "e": 2, "g": 1, "k": 4}},
        ),
        ModelSize(
            name="jamba",
            d=4096,
            layers=32,
            scalar_bytes=2,
            heads=32,
            head_dim=128,
            kv_heads=8,
            arch="jamba",
            source="ai21labs/Jamba-v0.1 config.json: hidden_size 4096, num_hidden_layers 32, "
            "attn_layer_period 8 (4 attention layers), num_attention_heads 32, num_key_value_heads 8, "
            "mamba_d_state 16, mamba_expand 2, mamba_d_conv 4",
            symbols={"gqa": _LLAMA_GQA, "mamba": _MAMBA_1},
        ),
    )
}


def get_size(name: str) -> ModelSize:
    """A configuration by name; an unknown name lists the known ones."""
    size = SIZES.get(name.strip().casefold())
    if size is None:
        raise ArchclassError(f"unknown size {name!r}; choose from {', '.join(SIZES)}")
    return size


def default_size_for(arch_id: str) -> ModelSize:
    """The configuration that is a real instance of this entry, else a Llama-3-8B-shaped model."""
    for size in SIZES.values():
        if size.arch and size.arch == arch_id:
            return size
    return SIZES["llama-3-8b"]


def default_probe_size(device: str) -> ModelSize:
    """The probe's size when none is named: tiny on CPU (every family steps in seconds on two cores), a
    Llama-3-8B-shaped layer on CUDA, where the step's traffic, not launch overhead, sets its time."""
    return SIZES["llama-3-8b" if device.startswith("cuda") else "tiny"]
