"""The state fla's kernels keep, compared with archclass's reference of the same family at the same size.

For each family, builds fla's causal LM of one layer (two for RWKV-7, whose first is counted) from its
own config and model classes (not the Auto mapping, where fla's mamba and mamba2 share transformers'
names), prefills T tokens and decodes one more through fla's Cache, and counts the scalars that cache
holds in the first layer, split by what fla calls them
(recurrent_state, conv_state, attn_state, ffn_state). It then measures archclass's reference of that
family at the equivalent width, heads and state size with archclass's own probe, and prints one JSON
line per family: both counts, their ratio, and why they differ where they do.

fla's kernels are triton kernels: this needs a CUDA GPU and flash-linear-attention installed.
Usage: python benchmarks/hf/fla_states.py [--tokens 512] [--only gla,rwkv7] [--out states.jsonl]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WIDTH = 256
HEADS = 4
HEAD = WIDTH // HEADS
CATEGORIES = ("recurrent_state", "attn_state", "conv_state", "ffn_state")


@dataclass(frozen=True)
class Family:
    """One family: fla's model package and config, and archclass's reference at the same size."""

    fla_package: str
    fla_config: Mapping[str, Any]
    reference: str
    reference_kwargs: Mapping[str, Any] = field(default_factory=dict)
    # Layers fla builds; only the first layer's state is counted. RWKV-7's initialisation divides by
    # num_hidden_layers - 1, so fla cannot build it with one layer.
    fla_layers: int = 1


FAMILIES = {
    "gla": Family(
        "gla",
        {"num_heads": HEADS, "expand_k": 0.5, "expand_v": 1.0, "use_short_conv": False},
        "gla",
        {"n_heads": HEADS, "expand_k": 0.5},
    ),
    "delta_net": Family(
        "delta_net", {"num_heads": HEADS, "expand_k": 1.0, "expand_v": 1.0}, "deltanet", {"n_heads": HEADS}
    ),
    "gated_deltanet": Family(
        "gated_deltanet",
        {"num_heads": HEADS, "head_dim": HEAD, "expand_v": 1.0},
        "gated-deltanet",
        {"n_heads": HEADS},
    ),
    # HGRN2's state per head is expand_ratio (its forget-gate width) by the head's value width.
    "hgrn2": Family("hgrn2", {"num_heads": HEADS, "expand_ratio": HEAD}, "hgrn2", {"n_heads": HEADS}),
    "rwkv7": Family("rwkv7", {"head_dim": HEAD, "num_heads": HEADS}, "rwkv-7", {"n_heads": HEADS}, fla_layers=2),
    "retnet": Family("retnet", {"num_heads": HEADS, "expand_k": 1.0, "expand_v": 1.0}, "retnet", {"n_heads": HEADS}),
    "linear_attn": Family(
        "linear_attn",
        # elu + 1, the linear transformer's feature map, which the reference uses
        {"num_heads": HEADS, "expand_k": 1.0, "expand_v": 1.0, "attn_mode": "chunk", "feature_map": "elu"},
        "linear-attention",
        {"n_heads": HEADS},
    ),
    "mamba": Family("mamba", {"state_size": 16, "expand": 2, "conv_kernel": 4}, "mamba", {"d_state": 16, "d_conv": 4}),
    "mamba2": Family(
        "mamba2",
        {"state_size": 64, "expand": 2, "head_dim": 64, "n_groups": 1, "conv_kernel": 4},
        "mamba-2",
        {"d_state": 64, "headdim": 64, "d_conv": 4},
    ),
}

#: What each part of fla's cache is, for the explanation of a difference.
MEANING = {
    "conv_state": "short-convolution buffers (the last conv_size-1 inputs of each convolved projection)",
    "ffn_state": "the channel-mix token shift (the previous token's input to the feed-forward block)",
    "attn_state": "keys and values kept for attention",
    "recurrent_state": "the recurrent state",
    "other": "tensors outside fla's named states",
}


def state_by_category(by_path: Mapping[str, int]) -> dict[str, int]:
    """Scalars per kind of fla state in the first layer, from count_state's scalars by path."""
    totals: dict[str, int] = {}
    for path, scalars in by_path.items():
        layer = re.match(r"\.?\w*\[(\d+)\]", path)  # the cache's list of layers, as in .layers[1].state
        if layer is not None and layer.group(1) != "0":
            continue
        category = next((c for c in CATEGORIES if c in path), "other")
        totals[category] = totals.get(category, 0) + scalars
    return totals


def explain(fla: Mapping[str, int], reference: int, reference_parts: str) -> str:
    """Why fla's count and the reference's differ, part by part."""
    total = sum(fla.values())
    if total == reference:
        return "equal"
    recurrent = fla.get("recurrent_state", 0)
    extras = [f"{name} {count:,} ({MEANING[name]})" for name, count in sorted(fla.items()) if name != "recurrent_state"]
    if recurrent == reference:
        head = "the recurrent states are equal"
    else:
        head = f"recurrent state {recurrent:,} against the reference's {reference:,} ({reference_parts})"
    return head + ("; fla also keeps " + ", ".join(extras) if extras else "")


def row(name: str, tokens: int, fla: Mapping[str, int], reference: int, reference_parts: str) -> dict[str, Any]:
    total = sum(fla.values())
    return {
        "family": name,
        "tokens": tokens,
        "fla_scalars": total,
        "fla_by_state": dict(fla),
        "reference_scalars": reference,
        "ratio": round(total / reference, 4) if reference else None,
        "why": explain(fla, reference, reference_parts),
    }


def fla_classes(package: str) -> tuple[type, type]:
    """fla's config class and causal-LM class of one model package, by what they are, not by name.

    Each package's namespace also holds transformers' AutoConfig (imported there to register fla's
    config), whose name ends in "Config" too; only the package's exported names are looked at.
    """
    from transformers import PreTrainedConfig, PreTrainedModel

    module = importlib.import_module(f"fla.models.{package}")
    exported = [getattr(module, name) for name in getattr(module, "__all__", ())]
    configs = [c for c in exported if isinstance(c, type) and issubclass(c, PreTrainedConfig)]
    models = [
        c for c in exported
        if isinstance(c, type) and issubclass(c, PreTrainedModel) and c.__name__.endswith("ForCausalLM")
    ]  # fmt: skip
    if len(configs) != 1 or len(models) != 1:
        found = ", ".join(c.__name__ for c in configs + models) or "nothing"
        raise LookupError(f"fla.models.{package} exports no single config and causal LM (found {found})")
    return configs[0], models[0]


def fla_config(family: Family) -> Any:
    """fla's config of FAMILY at archclass's width (one layer where fla allows it)."""
    config_class, _ = fla_classes(family.fla_package)
    return config_class(hidden_size=WIDTH, num_hidden_layers=family.fla_layers, vocab_size=1024, **family.fla_config)


def fla_model(family: Family) -> Any:
    """fla's causal LM of FAMILY (random weights, on the CPU until moved)."""
    _, model_class = fla_classes(family.fla_package)
    return model_class(fla_config(family))


def fla_state(family: Family, tokens: int, device: str) -> dict[str, int]:
    """fla's cache after prefilling TOKENS tokens and decoding one: the first layer's scalars by kind of state."""
    import torch

    from archclass.probe.state import count_state

    torch.manual_seed(0)
    model = fla_model(family).to(device=device, dtype=torch.bfloat16).eval()
    ids = torch.randint(0, 1024, (1, tokens + 1), device=device)
    with torch.no_grad():
        prefill = model(input_ids=ids[:, :tokens], use_cache=True)
        step = model(input_ids=ids[:, tokens:], past_key_values=prefill.past_key_values, use_cache=True)
    return state_by_category(count_state(step.past_key_values).by_path)


def reference_state(family: Family, tokens: int, device: str) -> tuple[int, str]:
    """The reference's measured state after TOKENS tokens (archclass's probe), and its formula's parts."""
    from archclass.probe import probe
    from archclass.reference import catalog

    spec = catalog()[family.reference]
    kwargs = {**spec.kwargs, **family.reference_kwargs}
    result = probe(family.reference, d_model=WIDTH, kwargs=kwargs, lengths=[tokens // 4, tokens // 2, tokens],
                   device=device, check=False, repeats=1)  # fmt: skip
    measured = result.measurements[-1].state_scalars
    parts = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return measured, f"d_model={WIDTH}, {parts}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--only", default="", help=f"comma-separated families (default: all of {', '.join(FAMILIES)})")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON lines here")
    args = parser.parse_args()
    names = [n for n in re.split(r"[,\s]+", args.only) if n] or list(FAMILIES)
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        sys.exit(f"fla_states: unknown families {', '.join(unknown)}; known: {', '.join(FAMILIES)}")
    if args.tokens < 8:
        sys.exit("fla_states: --tokens must be at least 8")
    import torch

    if not torch.cuda.is_available():
        sys.exit("fla_states: fla's triton kernels need a CUDA GPU and none is visible here; run it on the GPU machine")
    if importlib.util.find_spec("fla") is None:
        sys.exit("fla_states: flash-linear-attention is not installed (pip install flash-linear-attention)")
    lines = []
    for name in names:
        family = FAMILIES[name]
        try:
            fla = fla_state(family, args.tokens, "cuda")
            reference, parts = reference_state(family, args.tokens, "cuda")
            line = row(name, args.tokens, fla, reference, parts)
        except Exception as error:  # one family's failure is reported, and the others still run
            text = str(error).strip().splitlines()
            line = {"family": name, "error": f"{type(error).__name__}: {text[0][:300] if text else ''}"}
        lines.append(json.dumps(line))
        print(lines[-1], flush=True)
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
