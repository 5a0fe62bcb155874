"""The bridge between reference implementations and registry formulas, for the claims check.

A registry entry writes its exact state count in the paper's notation (`d^2/h`, `e*d*n + ...`); a
reference implementation is built from keyword arguments (`n_heads=4`, `d_state=16`). This table says,
for each reference, what value each registry symbol takes, so the probe can evaluate the entry's
`state_scalars` formula at the reference's own settings and compare it with the measured count.
Where a reference leaves out a part the paper's layer has (a short convolution, say), the symbol that
sizes that part is set to what the reference really keeps (a kernel of width 1 keeps no buffer), and a
comment says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Symbols = Callable[[int, Mapping[str, Any]], dict[str, float]]


def _heads(kwargs: Mapping[str, Any]) -> int:
    return int(kwargs.get("n_heads", 2))


REGISTRY_SYMBOLS: dict[str, Symbols] = {
    "softmax-attention": lambda d, kw: {"d": d},
    "gqa": lambda d, kw: {"d": d, "g": kw["n_kv_heads"], "dh": d / _heads(kw)},
    "mqa": lambda d, kw: {"d": d, "dh": d / _heads(kw)},
    "mla": lambda d, kw: {"d": d, "c": kw["d_latent"], "r": kw["d_rope"], "h": _heads(kw)},
    "sliding-window-attention": lambda d, kw: {"d": d, "w": kw["window"]},
    "streamingllm": lambda d, kw: {"d": d, "w": kw["window"], "s": kw["n_sink"]},
    "h2o": lambda d, kw: {"d": d, "k": kw["n_recent"] + kw["n_heavy"], "h": _heads(kw)},
    "memorizing-transformers": lambda d, kw: {"d": d, "k": kw["top_k"], "w": kw["window"]},
    "linear-attention": lambda d, kw: {"d": d, "h": _heads(kw)},
    "retnet": lambda d, kw: {"d": d, "h": _heads(kw)},
    "performer": lambda d, kw: {"d": d, "m": kw["n_features"], "h": _heads(kw)},
    "gla": lambda d, kw: {"d": d, "h": _heads(kw)},  # the entry's d^2/(2h) is GLA's expand_k = 0.5
    # The DeltaNet references leave out the short convolutions: a kernel of width 1 keeps no buffer.
    "deltanet": lambda d, kw: {"d": d, "h": _heads(kw), "k": 1},
    "gated-deltanet": lambda d, kw: {"d": d, "h": _heads(kw), "dk": d / _heads(kw), "dv": d / _heads(kw), "k": 1},
    # The mLSTM reference is the cell alone: no up-projection (e = 1) and no convolution (k = 1).
    "mlstm": lambda d, kw: {"d": d, "e": 1, "h": _heads(kw), "k": 1},
    "hgrn2": lambda d, kw: {"d": d, "n": d / _heads(kw)},  # state expansion n = head size
    "rwkv-7": lambda d, kw: {"d": d, "dh": d / _heads(kw)},
    # Online TTT (inner mini-batch 1) keeps no accumulated gradient: a = 0.
    "ttt-linear": lambda d, kw: {"d": d, "h": _heads(kw), "a": 0},
    "mamba": lambda d, kw: {"d": d, "e": kw.get("expand", 2), "n": kw["d_state"], "k": kw.get("d_conv", 4)},
    "mamba-2": lambda d, kw: {"d": d, "e": kw.get("expand", 2), "n": kw["d_state"], "g": 1, "k": kw.get("d_conv", 4)},
    "s4d": lambda d, kw: {"d": d, "n": kw["d_state"]},
    "lru": lambda d, kw: {"d": d, "n": kw["d_state"]},
    "lstm": lambda d, kw: {"d": d},
    "gru": lambda d, kw: {"d": d},
    "mingru": lambda d, kw: {"d": d * kw.get("expand", 1)},
    # Safari's order-2 Hyena has one long convolution and a width-3 short convolution over 3 streams.
    "hyena": lambda d, kw: {"d": d, "o": 1, "k": kw.get("short_width", 3)},
}


def registry_symbols(reference: str, d_model: int, kwargs: Mapping[str, Any]) -> dict[str, float] | None:
    """The registry symbols' values at a reference's settings, or None when there is no mapping."""
    mapping = REGISTRY_SYMBOLS.get(reference)
    return mapping(d_model, kwargs) if mapping else None
