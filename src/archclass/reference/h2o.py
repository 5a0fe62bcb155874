"""Heavy-Hitter Oracle (H2O, Zhang et al., 2023): softmax attention with a fixed-budget KV cache.

Each head keeps at most n_recent + n_heavy tokens: the n_recent newest ones, and the "heavy hitters"
among the older ones, those with the largest attention received so far. The state carries, next to the
kept keys and values, each kept token's accumulated attention score. One step:

    append (k_t, v_t) with score 0;  p = softmax(q_t K^T / sqrt(d));  y_t = p V;  score += p
    if the cache is over budget: evict the non-recent token with the smallest score

Eviction is per head, so heads keep different tokens. The parallel form computes every query-key
logit at once, replays the greedy eviction over time on them to find which keys each query still saw,
then runs one masked softmax; it is what a prefill kernel with H2O eviction computes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from archclass.reference import ReferenceSpec, attention_heads
from archclass.reference._ops import attend
from archclass.reference.attention import Attention


class H2OAttention(Attention):
    def __init__(self, d_model: int, n_heads: int = 2, n_recent: int = 2, n_heavy: int = 3) -> None:
        super().__init__(d_model, n_heads)
        if n_recent < 1 or n_heavy < 1:
            raise ValueError("H2O needs at least one recent and one heavy-hitter slot")
        self.n_recent, self.budget = n_recent, n_recent + n_heavy

    def _evictions(self, scores: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Replay the eviction on logits (batch, heads, T, T): which keys each query saw (bool, same
        shape), and the keys still cached after the last token with their accumulated scores."""
        T = scores.shape[-1]
        alive = torch.zeros_like(scores[..., 0, :], dtype=torch.bool)  # (batch, heads, T)
        acc = torch.zeros_like(scores[..., 0, :])
        seen = torch.zeros_like(scores, dtype=torch.bool)
        pos = torch.arange(T, device=scores.device)
        for t in range(T):
            alive = alive | (pos == t)
            seen[..., t, :] = alive
            acc = acc + scores[..., t, :].masked_fill(~alive, float("-inf")).softmax(-1)
            if t + 1 > self.budget:  # exactly one token over budget: drop the lightest old one
                old = alive & (pos <= t - self.n_recent)
                victim = acc.masked_fill(~old, float("inf")).argmin(-1, keepdim=True)
                alive = alive.scatter(-1, victim, False)
        # Kept keys in time order (a stable sort moves the alive ones to the front, keeping order).
        kept = torch.sort((~alive).to(torch.uint8), dim=-1, stable=True).indices[..., : min(T, self.budget)]
        return seen, kept, acc.gather(-1, kept)

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        q, k, v = self.project(x)
        seen, kept, acc = self._evictions((q @ k.transpose(-1, -2)) / math.sqrt(self.d_head))
        y = self.out(attend(q, k, v, seen).transpose(1, 2).flatten(-2))
        index = kept.unsqueeze(-1).expand(-1, -1, -1, self.d_head)
        return y, {"k": k.gather(2, index), "v": v.gather(2, index), "score": acc}

    def init_state(self, batch: int) -> dict[str, Tensor]:
        state = super().init_state(batch)
        state["score"] = state["k"].new_zeros(batch, self.n_heads, 0)
        return state

    def step(self, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        q, k, v = self.project(x.unsqueeze(1))
        K, V = torch.cat([state["k"], k], dim=2), torch.cat([state["v"], v], dim=2)
        p = ((q @ K.transpose(-1, -2)) / math.sqrt(self.d_head)).softmax(-1)  # (batch, heads, 1, n)
        y = self.out((p @ V).transpose(1, 2).flatten(-2)).squeeze(1)
        # The new token enters with score 0, then every cached token adds what this query gave it.
        fresh = state["score"].new_zeros(*state["score"].shape[:2], 1)
        acc = torch.cat([state["score"], fresh], dim=-1) + p.squeeze(2)
        n = K.shape[2]
        if n > self.budget:
            # The cache is in time order, so the last n_recent slots are the protected recent tokens.
            victim = acc[..., : n - self.n_recent].argmin(-1, keepdim=True)  # (batch, heads, 1)
            slots = torch.arange(n - 1, device=x.device)
            keep = slots + (slots >= victim).long()  # every slot but the victim, in order
            index = keep.unsqueeze(-1).expand(-1, -1, -1, self.d_head)
            K, V, acc = K.gather(2, index), V.gather(2, index), acc.gather(-1, keep)
        return y, {"k": K, "v": V, "score": acc}


def _budget_cache(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    heads = kwargs.get("n_heads", 2)
    kept = min(T, kwargs.get("n_recent", 2) + kwargs.get("n_heavy", 3))
    return kept * heads * (2 * (d_model // heads) + 1)  # keys, values and one score per kept token


REFERENCES = (
    ReferenceSpec(
        name="h2o",
        arch_id="h2o",
        factory=H2OAttention,
        kwargs={"n_heads": 4, "n_recent": 16, "n_heavy": 16},
        test_kwargs={"n_heads": 2, "n_recent": 2, "n_heavy": 3},
        at_size=lambda size: {
            "n_heads": attention_heads(size),
            "n_recent": size.window // 2,
            "n_heavy": size.window // 2,
        },
        state_scalars=_budget_cache,
        registry_symbols=lambda d, kw: {"d": d, "k": kw["n_recent"] + kw["n_heavy"], "h": kw.get("n_heads", 2)},
    ),
)
