"""Gated Linear Attention (GLA, Yang et al., 2023).

Linear attention whose d_k x d_v state per head forgets through a data-dependent diagonal gate
alpha_t in (0, 1)^{d_k}, made from a low-rank projection: alpha_t = sigmoid(x W1 W2 + b)^(1/tau).

    recurrent: S_t = diag(alpha_t) S_{t-1} + k_t^T v_t,   y_t = q_t S_t
    parallel:  y_t = sum_{s<=t} (q_t * exp(G_t - G_s)) . k_s v_s,   G_t = sum_{r<=t} log alpha_r

The paper's keys are half as wide as the values (d_k = d/2); its output gate and per-head norm are
stateless and left out. The masked parallel form (`gated_scores`, `decayed_sum`) lives in _ops, as
HGRN2 and RWKV-7 use it too.

Training uses the chunked form (`chunk_size` > 0, the paper's Sec. 4): the masked T x T x d_k form
inside chunks of c tokens, and the state handed from chunk to chunk, so the work is T x c x d_k, not
T x T x d_k. Every exponent it takes is a decay over a span inside the sequence (<= 0), so no factor
overflows. `chunk_size=0` keeps the whole-sequence masked form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archclass.reference import ReferenceSpec
from archclass.reference._ops import decayed_sum, gated_scores, work_dtype


def chunked_gated_attention(q: Tensor, k: Tensor, v: Tensor, log_alpha: Tensor, chunk: int) -> tuple[Tensor, Tensor]:
    """y_t = q_t S_t with S_t = diag(alpha_t) S_{t-1} + k_t^T v_t, chunk by chunk.

    q, k, log_alpha: (b, h, T, d_k); v: (b, h, T, d_v). Returns y (b, h, T, d_v) and S_T (b, h, d_k, d_v).
    The sequence is padded to whole chunks with k = v = 0 and log_alpha = 0, which add nothing and
    decay nothing, so the padded tail leaves S_T unchanged.
    """
    T = q.shape[-2]
    pad = -T % chunk
    if pad:
        q, k, v, log_alpha = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v, log_alpha))
    n = q.shape[-2] // chunk
    q, k, v, log_alpha = (t.unflatten(-2, (n, chunk)) for t in (q, k, v, log_alpha))  # (b, h, n, c, .)
    g = log_alpha.cumsum(-2)  # log decay from each chunk's start, <= 0
    last = g[..., -1:, :]  # (b, h, n, 1, d_k)
    y = gated_scores(q, k, g, g) @ v  # within each chunk
    written = (k * (last - g).exp()).transpose(-1, -2) @ v  # what each chunk adds to the state, decayed to its end
    read = q * g.exp()
    S = q.new_zeros(*q.shape[:2], q.shape[-1], v.shape[-1])
    carried = []
    for index in range(n):  # the state before each chunk; a few small ops per chunk
        carried.append(S)
        S = last[:, :, index, 0, :, None].exp() * S + written[:, :, index]
    y = y + read @ torch.stack(carried, 2)
    return y.flatten(2, 3)[..., :T, :], S


class GLA(nn.Module):
    def __init__(
        self,
        d_model: int,
        n_heads: int = 2,
        expand_k: float = 0.5,
        gate_rank: int = 16,
        tau: float = 16.0,
        chunk_size: int = 32,
    ) -> None:
        super().__init__()
        d_k = int(d_model * expand_k)
        if d_model % n_heads or d_k % n_heads:
            raise ValueError(f"d_model={d_model} and d_k={d_k} must be divisible by n_heads={n_heads}")
        self.n_heads, self.dk, self.dv, self.tau = n_heads, d_k // n_heads, d_model // n_heads, tau
        self.chunk = chunk_size
        self.q = nn.Linear(d_model, d_k, bias=False)
        self.k = nn.Linear(d_model, d_k, bias=False)
        self.v = nn.Linear(d_model, d_model, bias=False)
        self.gate = nn.Sequential(nn.Linear(d_model, gate_rank, bias=False), nn.Linear(gate_rank, d_k))
        self.out = nn.Linear(d_model, d_model, bias=False)

    def _project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        h = self.n_heads
        q = self.q(x).unflatten(-1, (h, self.dk)) * self.dk**-0.5
        k = self.k(x).unflatten(-1, (h, self.dk))
        v = self.v(x).unflatten(-1, (h, self.dv))
        # log alpha = log sigmoid(.) / tau: the temperature keeps gates near 1 (slow forgetting).
        log_alpha = F.logsigmoid(self.gate(x).unflatten(-1, (h, self.dk))) / self.tau
        return q, k, v, log_alpha

    def _parallel(self, x: Tensor) -> tuple[Tensor, Tensor]:
        work = work_dtype(x.dtype)
        q, k, v, log_alpha = (t.transpose(1, 2).to(work) for t in self._project(x))  # (b, h, T, .)
        if self.chunk:
            y, S = chunked_gated_attention(q, k, v, log_alpha, self.chunk)
        else:
            g = log_alpha.cumsum(-2)
            y, S = gated_scores(q, k, g, g) @ v, decayed_sum(k, v, g)
        return self.out(y.transpose(1, 2).flatten(-2).to(x.dtype)), S

    def forward(self, x: Tensor) -> Tensor:
        return self._parallel(x)[0]

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        y, S = self._parallel(x)
        return y, {"S": S.to(x.dtype)}

    def init_state(self, batch: int) -> dict[str, Tensor]:
        return {"S": self.q.weight.new_zeros(batch, self.n_heads, self.dk, self.dv)}

    def step(self, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        q, k, v, log_alpha = self._project(x)  # (b, h, .)
        S = log_alpha.exp().unsqueeze(-1) * state["S"] + k.unsqueeze(-1) * v.unsqueeze(-2)
        y = torch.einsum("bhk,bhkv->bhv", q, S)
        return self.out(y.flatten(-2)), {"S": S}


def _state(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    heads = kwargs.get("n_heads", 2)
    d_k = int(d_model * kwargs.get("expand_k", 0.5))
    return heads * (d_k // heads) * (d_model // heads)


def _registry_symbols(d_model: int, kwargs: Mapping[str, Any]) -> dict[str, float]:
    # The registry's d^2/(2h) is GLA's expand_k = 0.5 (keys half as wide as values).
    return {"d": d_model, "h": kwargs.get("n_heads", 2)}


REFERENCES = (
    ReferenceSpec(
        name="gla",
        arch_id="gla",
        factory=GLA,
        kwargs={"n_heads": 4, "expand_k": 0.5, "gate_rank": 16},
        test_kwargs={"n_heads": 2, "expand_k": 0.5, "gate_rank": 4, "chunk_size": 3},
        at_size=lambda size: {"n_heads": 4, "expand_k": 0.5, "gate_rank": 16},
        state_scalars=_state,
        registry_symbols=_registry_symbols,
    ),
)
