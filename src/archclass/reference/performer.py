"""Performer (Choromanski et al., 2021): softmax attention approximated by FAVOR+ random features.

exp(q . k) is the expectation of phi(q) . phi(k) with positive random features

    phi(x) = exp(W x - |x|^2 / 2) / sqrt(m),   W: m x d_head, orthogonal Gaussian rows,

so causal attention becomes linear attention in feature space, with an m x d_head state per head and
the normaliser z = sum phi(k) (m scalars per head). The projection is drawn once at init from a
seeded generator and kept as a buffer (no redrawing: a redraw would change the model mid-sequence).

    prefix sums: S_t = sum_{s<=t} phi(k_s)^T v_s,  z_t = sum_{s<=t} phi(k_s),
                 y_t = phi(q_t) S_t / (phi(q_t) . z_t)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from archclass.reference import ReferenceSpec, attention_heads


def orthogonal_gaussian(m: int, d: int, generator: torch.Generator) -> Tensor:
    """m x d projection: blocks of d orthogonal rows (QR of a Gaussian), rows rescaled to the norms of
    independent Gaussian vectors so each row is still marginally N(0, I)."""
    blocks = [torch.linalg.qr(torch.randn(d, d, generator=generator))[0].T for _ in range(-(-m // d))]
    norms = torch.randn(m, d, generator=generator).norm(dim=1, keepdim=True)
    return torch.cat(blocks)[:m] * norms


class Performer(nn.Module):
    def __init__(self, d_model: int, n_heads: int = 2, n_features: int = 64, seed: int = 0) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads, self.d_head, self.m = n_heads, d_model // n_heads, n_features
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out = nn.Linear(d_model, d_model, bias=False)
        self.projection: Tensor
        generator = torch.Generator().manual_seed(seed)
        self.register_buffer("projection", orthogonal_gaussian(n_features, self.d_head, generator))

    eps = 1e-6
    """Added to the normaliser: exp(W x - |x|^2 / 2) underflows to 0 for large keys (in bf16 sooner), and a
    query whose every key feature vanished would divide 0 by 0."""

    def _features(self, x: Tensor, is_query: bool) -> Tensor:
        x = x * self.d_head**-0.25  # split softmax's 1/sqrt(d) between q and k
        logits = x @ self.projection.T - (x * x).sum(-1, keepdim=True) / 2
        if is_query:
            # A per-query shift cancels between numerator and denominator; a per-key shift would not.
            logits = logits - logits.amax(-1, keepdim=True).detach()
        return logits.exp() * self.m**-0.5

    def _project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        q, k, v = self.qkv(x).unflatten(-1, (3, self.n_heads, self.d_head)).unbind(-3)
        return self._features(q, True), self._features(k, False), v

    def _parallel(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        q, k, v = self._project(x)  # (b, T, h, .)
        S = (k.unsqueeze(-1) * v.unsqueeze(-2)).cumsum(1)  # (b, T, h, m, d_head): causal prefix sums
        z = k.cumsum(1)
        y = torch.einsum("bthm,bthmv->bthv", q, S) / ((q * z).sum(-1, keepdim=True) + self.eps)
        return self.out(y.flatten(-2)), {"S": S[:, -1], "z": z[:, -1]}

    def forward(self, x: Tensor) -> Tensor:
        return self._parallel(x)[0]

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        return self._parallel(x)

    def init_state(self, batch: int) -> dict[str, Tensor]:
        p = self.qkv.weight
        return {
            "S": p.new_zeros(batch, self.n_heads, self.m, self.d_head),
            "z": p.new_zeros(batch, self.n_heads, self.m),
        }

    def step(self, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        q, k, v = self._project(x)  # (b, h, .)
        S = state["S"] + k.unsqueeze(-1) * v.unsqueeze(-2)
        z = state["z"] + k
        y = torch.einsum("bhm,bhmv->bhv", q, S) / ((q * z).sum(-1, keepdim=True) + self.eps)
        return self.out(y.flatten(-2)), {"S": S, "z": z}


def _state(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    heads, m = kwargs.get("n_heads", 2), kwargs.get("n_features", 64)
    return heads * (m * (d_model // heads) + m)


REFERENCES = (
    ReferenceSpec(
        name="performer",
        size_knob="n_features",
        arch_id="performer",
        factory=Performer,
        kwargs={"n_heads": 4, "n_features": 64},
        test_kwargs={"n_heads": 2, "n_features": 12},
        at_size=lambda size: {"n_heads": attention_heads(size), "n_features": 256},
        state_scalars=_state,
        registry_symbols=lambda d, kw: {"d": d, "m": kw["n_features"], "h": kw.get("n_heads", 2)},
    ),
)
