"""mLSTM, the matrix-memory cell of xLSTM (Beck et al., 2024).

Per head: a d x d memory C, a normaliser n (d scalars) and a stabiliser m (one scalar). The input gate
is exponential, i_t = exp(i~_t), the forget gate sigmoid, f_t = sigmoid(f~_t). Exponential gates would
overflow, so C and n are kept scaled by exp(-m_t), m_t being a running max of the log gate weights:

    m_t = max(log f_t + m_{t-1}, i~_t),  i'_t = exp(i~_t - m_t),  f'_t = exp(log f_t + m_{t-1} - m_t)
    C_t = f'_t C_{t-1} + i'_t k_t^T v_t,   n_t = f'_t n_{t-1} + i'_t k_t      (k scaled by 1/sqrt(d))
    y_t = q_t C_t / max(|q_t . n_t|, exp(-m_t))        (= the unscaled max(|q n|, 1) rule)

C is stored k-major (d_k x d_v), the transpose of the paper's v k^T. Parallel form (paper, App. B):
log D[t, s] = F_t - F_s + i~_s for s <= t (F = cumsum log f), m_t = max_s log D[t, s], and
y = (Q K^T * exp(log D - m)) V / max(|row sums|, exp(-m)). xLSTM's block around the cell (up-projection,
causal conv, output gate, norms) is stateless apart from the conv and is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archclass.reference import ReferenceSpec, attention_heads


class MLSTM(nn.Module):
    def __init__(self, d_model: int, n_heads: int = 2) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.gates = nn.Linear(d_model, 2 * n_heads)
        self.out = nn.Linear(d_model, d_model, bias=False)
        with torch.no_grad():  # xLSTM's init: forget gates open (bias 3..6), input gates small
            self.gates.bias[n_heads:] = torch.linspace(3.0, 6.0, n_heads)
            self.gates.bias[:n_heads] = 0.0

    def _project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        q, k, v = self.qkv(x).unflatten(-1, (3, self.n_heads, self.d_head)).unbind(-3)
        log_i, f = self.gates(x).chunk(2, dim=-1)  # (..., h): i~ is already the log input gate
        return q, k * self.d_head**-0.5, v, log_i, F.logsigmoid(f)

    def _parallel(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        work = torch.promote_types(x.dtype, torch.float32)  # cumulative log gates need >= float32
        q, k, v, log_i, log_f = (t.transpose(1, 2).to(work) for t in self._project(x))
        T = x.shape[1]
        F_cum = log_f.cumsum(-1)  # (b, h, T)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        log_D = F_cum[..., :, None] - F_cum[..., None, :] + log_i[..., None, :]
        log_D = log_D.masked_fill(~causal, -torch.inf)
        m = log_D.amax(-1, keepdim=True)  # (b, h, T, 1): the recurrent stabiliser m_t, exactly
        D = (log_D - m).exp()
        scores = (q @ k.transpose(-1, -2)) * D
        y = scores @ v / scores.sum(-1, keepdim=True).abs().maximum((-m).exp())
        last = D[..., -1, :, None]  # weights of every token in C_T and n_T
        state = {"C": (k * last).transpose(-1, -2) @ v, "n": (k * last).sum(-2), "m": m[..., -1, 0]}
        return self.out(y.transpose(1, 2).flatten(-2).to(x.dtype)), state

    def forward(self, x: Tensor) -> Tensor:
        return self._parallel(x)[0]

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        y, state = self._parallel(x)
        return y, {name: t.to(x.dtype) for name, t in state.items()}

    def init_state(self, batch: int) -> dict[str, Tensor]:
        p, h, d = self.qkv.weight, self.n_heads, self.d_head
        # m = -inf: nothing is stored yet, so the first token sets the scale (as the parallel max does).
        return {
            "C": p.new_zeros(batch, h, d, d),
            "n": p.new_zeros(batch, h, d),
            "m": p.new_full((batch, h), -torch.inf),
        }

    def step(self, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        q, k, v, log_i, log_f = self._project(x)  # (b, h, d), (b, h)
        m = torch.maximum(log_f + state["m"], log_i)
        i, f = (log_i - m).exp()[..., None], (log_f + state["m"] - m).exp()[..., None]
        C = f[..., None] * state["C"] + (i * k).unsqueeze(-1) * v.unsqueeze(-2)
        n = f * state["n"] + i * k
        denominator = (q * n).sum(-1, keepdim=True).abs().maximum((-m).exp()[..., None])
        y = torch.einsum("bhk,bhkv->bhv", q, C) / denominator
        return self.out(y.flatten(-2)), {"C": C, "n": n, "m": m}


def _state(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    heads = kwargs.get("n_heads", 2)
    d = d_model // heads
    return heads * (d * d + d + 1)


def _registry_symbols(d_model: int, kwargs: Mapping[str, Any]) -> dict[str, float]:
    # The reference is the cell alone: no up-projection (e = 1) and no convolution (k = 1).
    return {"d": d_model, "e": 1, "h": kwargs.get("n_heads", 2), "k": 1}


REFERENCES = (
    ReferenceSpec(
        name="mlstm",
        arch_id="mlstm",
        factory=MLSTM,
        kwargs={"n_heads": 4},
        test_kwargs={"n_heads": 2},
        at_size=lambda size: {"n_heads": attention_heads(size)},
        state_scalars=_state,
        registry_symbols=_registry_symbols,
    ),
)
