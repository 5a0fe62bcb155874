"""Which layers a small transformers config keeps, and every per-layer field cut to those layers.

Config classes describe their layers in many shapes: a list of kinds per layer (``layer_types``,
``mlp_layer_types``), a list of sizes per layer (Gemma-3n's ``intermediate_size``), a string with one
letter per layer (Nemotron-H's ``hybrid_override_pattern``), a list of layer indices (``full_attn_idxs``),
a dict of per-layer overrides keyed by index (Gemma-4's ``per_layer_config``), counts that partition the
layers (``n_input_layers + n_recurrent_layers + ...``) or periods (Jamba's ``attn_layer_period``). Config
classes check that all of them agree with the layer count, so all are cut together, found by shape and
not by name wherever the shape is unambiguous.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

LAYER_KEYS = ("num_hidden_layers", "n_layer", "n_layers", "num_layers", "decoder_layers")
PATTERN_KEYS = ("layer_types", "layers_block_type", "block_types", "hybrid_override_pattern", "layers_block_types")
_INDEX_LIST_KEYS = ("hybrid_layer_ids", "attn_layer_indices", "full_attn_idxs", "attn_layer_idx")

#: Shrinks one per-layer size (a field name and its value) to the small config's size for that field.
SizeShrinker = Callable[[str, Any], Any]


def layer_total(values: Mapping[str, Any]) -> int | None:
    return next((values[k] for k in LAYER_KEYS if _is_int(values.get(k))), None)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _per_layer_keys(values: Mapping[str, Any], total: int | None) -> list[str]:
    """Fields holding one entry per layer: lists (or a pattern string) as long as the layer count."""
    if total is None or total < 2:
        key = next((k for k in PATTERN_KEYS if isinstance(values.get(k), (list, str)) and len(values[k]) > 1), None)
        return [key] if key else []
    return [
        key
        for key, value in values.items()
        if (isinstance(value, list) or (isinstance(value, str) and key in PATTERN_KEYS)) and len(value) == total
    ]


def _is_kind(values: Sequence[Any]) -> bool:
    """A per-layer list of kinds (names, flags), as opposed to one of sizes or coefficients."""
    return any(isinstance(v, (str, bool, list, dict)) for v in values)


def _index_keys(values: Mapping[str, Any], total: int) -> list[str]:
    """Lists of layer indices: increasing integers below the layer count, in a field named for layers."""
    found = []
    for key, value in values.items():
        named = (
            key in _INDEX_LIST_KEYS
            or key.endswith(".layers")
            or ("layer" in key and any(w in key for w in ("idx", "indices", "ids")))
        )
        if (
            named
            and isinstance(value, list)
            and all(_is_int(i) and 0 <= i < total for i in value)
            and value == sorted(set(value))
        ):
            found.append(key)
    return found


def _per_layer_dict_keys(values: Mapping[str, Any], total: int) -> list[str]:
    """Dicts of per-layer overrides keyed by layer index (an int or a string of digits)."""
    return [
        key
        for key, value in values.items()
        if isinstance(value, dict)
        and value
        and all((_is_int(k) or (isinstance(k, str) and k.isdigit())) and int(k) < total for k in value)
    ]


def _count_keys(values: Mapping[str, Any], total: int) -> list[str]:
    """Counts of some of the layers (``num_kv_shared_layers``, ``n_input_layers``): scaled with the rest."""
    return [
        key
        for key, value in values.items()
        if "layers" in key
        and key not in LAYER_KEYS
        and not key.endswith(("_period", "_offset"))
        and not re.fullmatch(r"(num_)?(encoder|decoder)_(hidden_)?layers", key)  # another stack's total
        and _is_int(value)
        and 0 < value <= total
    ]


def _select(kinds: Sequence[str], per_kind: int | None) -> list[int]:
    """The layers up to the first of each kind (keeps every kind and the leading ratio), or the first
    PER_KIND layers of each kind."""
    if per_kind is None:
        firsts: dict[str, int] = {}
        for index, kind in enumerate(kinds):
            firsts.setdefault(kind, index)
        end = max(firsts.values()) + 1 if firsts else 1
        # on to the end of that period, where the first kind comes back (a layer and its MLP stay paired)
        if kinds and kinds[0] in kinds[end:]:
            end = kinds.index(kinds[0], end)
        return list(range(end))
    taken: dict[str, int] = {}
    selected = []
    for index, kind in enumerate(kinds):
        if taken.get(kind, 0) < per_kind:
            taken[kind] = taken.get(kind, 0) + 1
            selected.append(index)
    return selected


def _scaled_counts(values: Mapping[str, Any], keys: Sequence[str], total: int, keep: int) -> dict[str, int]:
    """Each count scaled to the kept layers, at least 1; counts that partition the layers still do."""
    scaled = {k: max(1, round(values[k] * keep / total)) for k in keys}
    if all(values[k] == total for k in keys):  # all layers (a draft model sharing its target's cache)
        return scaled
    if len(keys) > 1 and sum(values[k] for k in keys) == total:
        largest = max(keys, key=lambda k: scaled[k])
        scaled[largest] += keep - sum(scaled.values())
    else:
        scaled = {k: min(v, keep - 1) for k, v in scaled.items()}
    return scaled


def _uncounted_hold_every_kind(values: Mapping[str, Any], counted: Sequence[str], total: int, kinds: list[str]) -> bool:
    """Gemma-3n's last num_kv_shared_layers layers reuse the cache of an earlier layer of their kind, so the
    layers before them must still hold every kind."""
    scaled = _scaled_counts(values, counted, total, len(kinds))
    return all(scaled[key] == len(kinds) or set(kinds[: len(kinds) - scaled[key]]) == set(kinds) for key in counted)


def cut_layers(values: Mapping[str, Any], per_kind: int | None, shrink_size: SizeShrinker) -> dict[str, Any]:
    """The fields to change so that VALUES keeps a few layers with every kind: the layer count and every
    per-layer field. SHRINK_SIZE makes a per-layer size (or a per-layer override) small."""
    total = layer_total(values)
    per_layer = _per_layer_keys(values, total)
    kind_keys = [k for k in per_layer if _is_kind(values[k])]
    pattern = next((k for k in PATTERN_KEYS if isinstance(values.get(k), (list, str)) and len(values[k]) > 1), None)
    if not kind_keys and pattern is not None:  # a pattern that repeats over the layers (RecurrentGemma's)
        per_layer = [k for k in _per_layer_keys(values, len(values[pattern])) if k in PATTERN_KEYS or k == pattern]
        kind_keys = per_layer
    # Index lists inside a sub-config, as "key.sub" (fla's hybrids: attn = {"layers": [1, 3, ...], ...})
    nested = {
        f"{key}.{sub}": inner
        for key, value in values.items()
        if isinstance(value, dict)
        for sub, inner in value.items()
        if sub == "layers" and isinstance(inner, list)
    }
    index_keys = _index_keys({**values, **nested}, total) if total else []
    values = {**values, **{k: v for k, v in nested.items() if k in index_keys}}
    changes: dict[str, Any] = {}
    if kind_keys or index_keys:
        length = len(values[kind_keys[0]]) if kind_keys else int(total or 0)
        kinds = [
            json.dumps([values[k][i] for k in kind_keys] + [i in values[k] for k in index_keys], default=str)
            for i in range(length)
        ]
        selected = _select(kinds, per_kind)
        # layers at the end that share an earlier layer's cache (Gemma-3n's num_kv_shared_layers)
        counted = [k for k in (_count_keys(values, int(total or 0)) if total else []) if "shared" in k]
        while (
            per_kind is None
            and counted
            and len(selected) < length
            and not _uncounted_hold_every_kind(values, counted, int(total or 0), [kinds[i] for i in selected])
        ):
            selected = list(range(min(length, len(selected) + _select(kinds, None)[-1] + 1)))
    else:
        periods = [int(values[k]) for k in values if k.endswith("_layer_period") and _is_int(values[k])]
        count = (math.lcm(*periods) if periods else 1) * (per_kind or (1 if periods else 2))
        selected = list(range(min(count, total) if total else count))
    for key in per_layer:
        kept = [values[key][i] for i in selected]
        if isinstance(values[key], str):
            changes[key] = "".join(kept)
        else:
            changes[key] = kept if key in kind_keys else [shrink_size(key, v) for v in kept]
    for key in index_keys:
        kept_indices = [selected.index(i) for i in values[key] if i in selected]
        outer, _, sub = key.partition(".")
        if sub:  # back into its sub-config
            changes[outer] = {**changes.get(outer, values[outer]), sub: kept_indices}
        else:
            changes[key] = kept_indices
    if total is not None:
        for key in _per_layer_dict_keys(values, total):
            changes[key] = {
                (f"{selected.index(int(k)):0{len(k)}d}" if isinstance(k, str) else selected.index(k)): {
                    name: shrink_size(name, size) for name, size in override.items()
                }
                if isinstance(override, dict)
                else override
                for k, override in values[key].items()
                if int(k) in selected
            }
        changes.update(_scaled_counts(values, _count_keys(values, total), total, len(selected)))
    for key in LAYER_KEYS:
        if _is_int(values.get(key)):
            changes[key] = len(selected)
    return changes
