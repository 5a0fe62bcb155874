"""Hybrids of Mamba and attention: Jamba (Lieber et al., 2024) and Samba (Ren et al., 2024).

Both are stacks of pre-norm residual layers, x <- x + mixer(rmsnorm(x)), whose mixers are the other
references of this package; the state is the list of the layers' states.

    Jamba: one softmax-attention layer per attn_period layers (at attn_offset; the paper's 1:7 ratio,
           8 layers with attention at index 4), Mamba elsewhere. The KV cache of the attention layers
           grows with T; the Mamba layers add a constant.
    Samba: Mamba and sliding-window attention alternating 1:1. Every cache is bounded.

Left out: the MLP / mixture-of-experts sublayers, which carry no state from token to token, and the
norms' learned weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from archclass.osp import prefill
from archclass.reference import ReferenceSpec, attention, attention_heads, kv_heads, sliding_window
from archclass.reference.attention import SoftmaxAttention
from archclass.reference.mamba import REALISTIC_CHUNK, Mamba, mamba_state, mamba_symbols
from archclass.reference.sliding_window import SlidingWindowAttention


class Hybrid(nn.Module):
    """Residual pre-norm stack of OSP mixers; step and prefill go layer by layer."""

    def __init__(self, d_model: int, mixers: list[nn.Module]) -> None:
        super().__init__()
        self.d_model = d_model
        self.layers = nn.ModuleList(mixers)

    def _norm(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, (self.d_model,), eps=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = x + layer(self._norm(x))
        return x

    def prefill(self, x: Tensor) -> tuple[Tensor, list[Any]]:
        states = []
        for layer in self.layers:
            y, state = prefill(layer, self._norm(x))
            x = x + y
            states.append(state)
        return x, states

    def init_state(self, batch: int) -> list[Any]:
        return [layer.init_state(batch) for layer in self.layers]

    def step(self, x: Tensor, state: list[Any]) -> tuple[Tensor, list[Any]]:
        new = []
        for layer, layer_state in zip(self.layers, state, strict=True):
            y, layer_state = layer.step(self._norm(x), layer_state)
            x = x + y
            new.append(layer_state)
        return x, new


def _is_attention(i: int, kw: Mapping[str, Any]) -> bool:
    return i % kw.get("attn_period", 8) == kw.get("attn_offset", 4)


def _mamba_kwargs(kw: Mapping[str, Any]) -> dict[str, Any]:
    return {"d_state": kw.get("d_state", 16), "chunk_size": kw.get("chunk_size", 64)}


class Jamba(Hybrid):
    def __init__(
        self,
        d_model: int,
        n_layers: int = 8,
        attn_period: int = 8,
        attn_offset: int = 4,
        n_heads: int = 4,
        n_kv_heads: int | None = None,
        d_state: int = 16,
        chunk_size: int = 64,
    ) -> None:
        kw = {
            "attn_period": attn_period,
            "attn_offset": attn_offset,
            "d_state": d_state,
            "chunk_size": chunk_size,
        }
        mixers = [
            SoftmaxAttention(d_model, n_heads, n_kv_heads)
            if _is_attention(i, kw)
            else Mamba(d_model, **_mamba_kwargs(kw))
            for i in range(n_layers)
        ]
        super().__init__(d_model, mixers)


class Samba(Hybrid):
    def __init__(
        self,
        d_model: int,
        n_layers: int = 4,
        n_heads: int = 4,
        window: int = 32,
        d_state: int = 16,
        chunk_size: int = 64,
    ) -> None:
        kw = {"d_state": d_state, "chunk_size": chunk_size}
        mixers = [
            Mamba(d_model, **_mamba_kwargs(kw)) if i % 2 == 0 else SlidingWindowAttention(d_model, n_heads, window)
            for i in range(n_layers)
        ]
        super().__init__(d_model, mixers)


def _spec(module: Any, name: str) -> ReferenceSpec:
    return next(spec for spec in module.REFERENCES if spec.name == name)


def _jamba_state(T: int, d: int, kw: Mapping[str, Any]) -> int:
    kv_cache = _spec(attention, "softmax-attention").state_scalars
    attn_kw = {"n_heads": kw.get("n_heads", 4), "n_kv_heads": kw.get("n_kv_heads")}
    assert kv_cache is not None
    return sum(
        kv_cache(T, d, attn_kw) if _is_attention(i, kw) else mamba_state(T, d, _mamba_kwargs(kw))
        for i in range(kw.get("n_layers", 8))
    )


def _samba_state(T: int, d: int, kw: Mapping[str, Any]) -> int:
    window_cache = _spec(sliding_window, "sliding-window-attention").state_scalars
    attn_kw = {"n_heads": kw.get("n_heads", 4), "window": kw.get("window", 32)}
    assert window_cache is not None
    return sum(
        mamba_state(T, d, _mamba_kwargs(kw)) if i % 2 == 0 else window_cache(T, d, attn_kw)
        for i in range(kw.get("n_layers", 4))
    )


def _component_symbols(component: str, symbols: Mapping[str, float], layers: int) -> dict[str, float]:
    """One component's registry symbols under the hybrid's naming: "<component id>.<symbol>", with
    "<component id>.layers" the number of layers of that kind."""
    return {**{f"{component}.{key}": value for key, value in symbols.items()}, f"{component}.layers": layers}


def _jamba_symbols(d: int, kw: Mapping[str, Any]) -> dict[str, float]:
    n_layers = kw.get("n_layers", 8)
    attention_layers = sum(_is_attention(i, kw) for i in range(n_layers))
    heads = kw.get("n_heads", 4)
    gqa = {"d": d, "g": kw.get("n_kv_heads") or heads, "dh": d / heads}
    return {
        **_component_symbols("mamba", mamba_symbols(d, _mamba_kwargs(kw)), n_layers - attention_layers),
        **_component_symbols("gqa", gqa, attention_layers),
    }


def _samba_symbols(d: int, kw: Mapping[str, Any]) -> dict[str, float]:
    n_layers = kw.get("n_layers", 4)
    window = {"d": d, "w": kw.get("window", 32)}
    return {
        **_component_symbols("mamba", mamba_symbols(d, _mamba_kwargs(kw)), (n_layers + 1) // 2),
        **_component_symbols("sliding-window-attention", window, n_layers // 2),
    }


REFERENCES = (
    ReferenceSpec(
        name="jamba",
        arch_id="jamba",
        factory=Jamba,
        kwargs={"n_layers": 8, "attn_period": 8, "attn_offset": 4, "n_heads": 4, "n_kv_heads": 2},
        test_kwargs={
            "n_layers": 4,
            "attn_period": 4,
            "attn_offset": 2,
            "n_heads": 2,
            "d_state": 4,
            "chunk_size": 5,
        },
        at_size=lambda size: {
            "n_layers": 8,
            "attn_period": 8,
            "attn_offset": 4,
            "n_heads": attention_heads(size),
            "n_kv_heads": kv_heads(size),
            "d_state": size.d_state,
            "chunk_size": REALISTIC_CHUNK,
        },
        state_scalars=_jamba_state,
        registry_symbols=_jamba_symbols,
    ),
    ReferenceSpec(
        name="samba",
        arch_id="samba",
        factory=Samba,
        kwargs={"n_layers": 4, "n_heads": 4, "window": 32},
        test_kwargs={"n_layers": 2, "n_heads": 2, "window": 4, "d_state": 4, "chunk_size": 5},
        at_size=lambda size: {
            "n_layers": 4,
            "n_heads": attention_heads(size),
            "window": 2048,
            "d_state": size.d_state,
            "chunk_size": REALISTIC_CHUNK,
        },
        state_scalars=_samba_state,
        registry_symbols=_samba_symbols,
    ),
)
