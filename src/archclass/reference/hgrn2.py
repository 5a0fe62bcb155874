"""HGRN2 (Qin et al., 2024): gated linear RNN with outer-product state expansion.

HGRN's elementwise recurrence h_t = f_t * h_{t-1} + (1 - f_t) * i_t is widened by replacing the
product (1 - f_t) * i_t with an outer product, giving a d_head x d_head state per head. The forget
gate is bounded below so that upper layers keep long memories; the paper learns the bound per layer
(cumulative softmax over depth), here it is a fixed constant for this one layer.

    f_t = lb + (1 - lb) sigmoid(x W_f)          key = 1 - f_t (tied to the gate: no key projection)
    recurrent: S_t = diag(f_t) S_{t-1} + (1 - f_t)^T i_t,   y_t = q_t S_t
    parallel:  the GLA masked form with cumulative log f (it is GLA with the key tied to the gate).

The paper's output norm and gate are stateless and left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archclass.reference import ReferenceSpec, attention_heads
from archclass.reference._ops import decayed_sum, gated_scores, work_dtype


class HGRN2(nn.Module):
    def __init__(self, d_model: int, n_heads: int = 2, lower_bound: float = 0.5) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        if not 0.0 <= lower_bound < 1.0:
            raise ValueError(f"lower_bound={lower_bound} must lie in [0, 1)")
        self.n_heads, self.d_head, self.lower_bound = n_heads, d_model // n_heads, lower_bound
        self.qfi = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model, bias=False)

    def _project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        q, f, i = self.qfi(x).unflatten(-1, (3, self.n_heads, self.d_head)).unbind(-3)
        lb = self.lower_bound
        forget = lb + (1 - lb) * torch.sigmoid(f)
        # 1 - f written as (1 - lb) sigmoid(-f) so keys near 0 keep their precision.
        key = (1 - lb) * torch.sigmoid(-f)
        return F.silu(q), key, i, forget.log()

    def _parallel(self, x: Tensor) -> tuple[Tensor, Tensor]:
        work = work_dtype(x.dtype)
        q, k, v, log_f = (t.transpose(1, 2).to(work) for t in self._project(x))  # (b, h, T, d_head)
        g = log_f.cumsum(-2)
        y = gated_scores(q, k, g, g) @ v
        return self.out(y.transpose(1, 2).flatten(-2).to(x.dtype)), decayed_sum(k, v, g)

    def forward(self, x: Tensor) -> Tensor:
        return self._parallel(x)[0]

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        y, S = self._parallel(x)
        return y, {"S": S.to(x.dtype)}

    def init_state(self, batch: int) -> dict[str, Tensor]:
        return {"S": self.qfi.weight.new_zeros(batch, self.n_heads, self.d_head, self.d_head)}

    def step(self, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        q, k, v, log_f = self._project(x)  # (b, h, d_head)
        S = log_f.exp().unsqueeze(-1) * state["S"] + k.unsqueeze(-1) * v.unsqueeze(-2)
        y = torch.einsum("bhk,bhkv->bhv", q, S)
        return self.out(y.flatten(-2)), {"S": S}


def _state(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    heads = kwargs.get("n_heads", 2)
    return heads * (d_model // heads) ** 2


def _registry_symbols(d_model: int, kwargs: Mapping[str, Any]) -> dict[str, float]:
    # The state expansion n is the head size.
    return {"d": d_model, "n": d_model / kwargs.get("n_heads", 2)}


REFERENCES = (
    ReferenceSpec(
        name="hgrn2",
        arch_id="hgrn2",
        factory=HGRN2,
        kwargs={"n_heads": 4, "lower_bound": 0.5},
        test_kwargs={"n_heads": 2, "lower_bound": 0.5},
        at_size=lambda size: {"n_heads": attention_heads(size), "lower_bound": 0.5},
        state_scalars=_state,
        registry_symbols=_registry_symbols,
    ),
)
