"""Classic gated RNNs: LSTM (Hochreiter & Schmidhuber, 1997), GRU (Cho et al., 2014), and minGRU
(Feng et al., 2024, "Were RNNs all we needed?").

LSTM and GRU feed h_{t-1} through a nonlinearity into their gates, so there is no parallel form:
forward loops over time (without calling step, so the two are independent code). minGRU drops
h_{t-1} from the gates; what is left is a linear recurrence h_t = (1 - z_t) h_{t-1} + z_t h~_t that
a scan solves in parallel, here in log space as in the paper:

    log h_t = a*_t + logcumsumexp_{s<=t}(log z_s + log h~_s - a*_s),   a*_t = sum_{r<=t} log(1 - z_r)

States: LSTM (h, c), 2 d; GRU h, d; minGRU h, d_hidden = expand * d.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archclass.reference import ReferenceSpec
from archclass.reference._ops import work_dtype


class LSTM(nn.Module):
    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.d = d_model
        self.wx = nn.Linear(d_model, 4 * d_model)  # input, forget, cell, output gates
        self.wh = nn.Linear(d_model, 4 * d_model, bias=False)

    def _cell(self, gx: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        i, f, g, o = (gx + self.wh(h)).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    def forward(self, x: Tensor) -> Tensor:
        gx = self.wx(x)  # the input half of every gate, for all t at once
        h = c = x.new_zeros(x.shape[0], self.d)
        out = []
        for t in range(x.shape[1]):
            h, c = self._cell(gx[:, t], h, c)
            out.append(h)
        return torch.stack(out, 1)

    def init_state(self, batch: int) -> dict[str, Tensor]:
        p = self.wx.weight
        return {"h": p.new_zeros(batch, self.d), "c": p.new_zeros(batch, self.d)}

    def step(self, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        h, c = self._cell(self.wx(x), state["h"], state["c"])
        return h, {"h": h, "c": c}


class GRU(nn.Module):
    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.d = d_model
        self.wx = nn.Linear(d_model, 3 * d_model)  # reset, update, candidate
        self.wh = nn.Linear(d_model, 3 * d_model)

    def _cell(self, gx: Tensor, h: Tensor) -> Tensor:
        xr, xz, xn = gx.chunk(3, dim=-1)
        hr, hz, hn = self.wh(h).chunk(3, dim=-1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return (1 - z) * n + z * h

    def forward(self, x: Tensor) -> Tensor:
        gx = self.wx(x)
        h = x.new_zeros(x.shape[0], self.d)
        out = []
        for t in range(x.shape[1]):
            h = self._cell(gx[:, t], h)
            out.append(h)
        return torch.stack(out, 1)

    def init_state(self, batch: int) -> dict[str, Tensor]:
        return {"h": self.wx.weight.new_zeros(batch, self.d)}

    def step(self, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        h = self._cell(self.wx(x), state["h"])
        return h, {"h": h}


class MinGRU(nn.Module):
    def __init__(self, d_model: int, expand: int = 1) -> None:
        super().__init__()
        self.d_hidden = expand * d_model
        self.w = nn.Linear(d_model, 2 * self.d_hidden)  # gate z and candidate h~, from x_t alone
        self.out = nn.Linear(self.d_hidden, d_model, bias=False)

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        k, pre = self.w(x).to(work_dtype(x.dtype)).chunk(2, dim=-1)
        log_keep, log_z = -F.softplus(k), -F.softplus(-k)  # log(1 - z), log z
        # log g(pre), g(x) = x + 1/2 for x >= 0 else sigmoid(x): positive, so h stays positive.
        log_cand = torch.where(pre >= 0, (F.relu(pre) + 0.5).log(), -F.softplus(-pre))
        a_star = log_keep.cumsum(1)
        h = (a_star + torch.logcumsumexp(log_z + log_cand - a_star, dim=1)).exp().to(x.dtype)
        return self.out(h), {"h": h[:, -1]}

    def forward(self, x: Tensor) -> Tensor:
        return self.prefill(x)[0]

    def init_state(self, batch: int) -> dict[str, Tensor]:
        return {"h": self.w.weight.new_zeros(batch, self.d_hidden)}

    def step(self, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        k, pre = self.w(x).chunk(2, dim=-1)
        z, cand = torch.sigmoid(k), torch.where(pre >= 0, pre + 0.5, torch.sigmoid(pre))
        h = (1 - z) * state["h"] + z * cand
        return self.out(h), {"h": h}


def _mingru_state(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    return kwargs.get("expand", 1) * d_model


REFERENCES = (
    ReferenceSpec(
        name="lstm",
        arch_id="lstm",
        factory=LSTM,
        at_size=lambda size: {},
        state_scalars=lambda T, d, kw: 2 * d,
        registry_symbols=lambda d, kw: {"d": d},
    ),
    ReferenceSpec(
        name="gru",
        arch_id="gru",
        factory=GRU,
        at_size=lambda size: {},
        state_scalars=lambda T, d, kw: d,
        registry_symbols=lambda d, kw: {"d": d},
    ),
    ReferenceSpec(
        name="mingru",
        arch_id="mingru",
        factory=MinGRU,
        kwargs={"expand": 1},
        test_kwargs={"expand": 2},
        at_size=lambda size: {"expand": 1},
        state_scalars=_mingru_state,
        registry_symbols=lambda d, kw: {"d": d * kw.get("expand", 1)},
    ),
)
