"""The Hyena operator (Poli et al., 2023), order 2.

Three projections of the input (x0, x1, v) pass a short causal depthwise conv; then

    y = x0 * (h * (x1 * v))          (* is elementwise, h * . a causal long convolution per channel)

The long filter h is implicit: a small MLP (sine activations) of positional features, times an
exponential decay window per channel. It has no fixed length: h is generated for as many positions as
the sequence needs. The parallel form runs the long convolution by FFT in O(T log T).

Hyena has no recurrence. A naive step keeps every past input of the long convolution, w_s = x1_s v_s,
and computes y_t = x0_t * (sum_{s<=t} h_{t-s} w_s + bias w_t): O(T d) work and a T x d cache, which is
the point of this reference. The short conv adds a fixed (3 d) x (short_width - 1) buffer.

The step wastes no traffic: the inputs sit channel by channel in a buffer with spare slots and a
length (a step writes one slot, see _ops.append), and the module keeps the filter taps it has made,
newest first at the end of a buffer (prefill puts its taps there; each step adds its own, one MLP
evaluation), so h_t ... h_0 is a slice lined up with w_0 ... w_t and each channel's sum is one dot
product. A step still reads T x d taps besides its T x d cache: the taps are a function of position and
parameters, not of the input, so they are not state (RoPE's tables are not either).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archclass.reference import ReferenceSpec
from archclass.reference._ops import append, causal_fft_conv, into_buffer, room_for, work_dtype


class Sin(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.freq = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return torch.sin(self.freq * x)


class ImplicitFilter(nn.Module):
    """h_l = MLP(features(l)) * exp(-alpha_c l): (channels, length) for any length."""

    def __init__(self, channels: int, emb_dim: int = 8, hidden: int = 32) -> None:
        super().__init__()
        # Sinusoidal features of the absolute position (periods from 2 to ~10^4), so the filter does not
        # depend on the sequence length it is generated for.
        self.register_buffer("freqs", 10000 ** -(torch.arange(emb_dim // 2) / (emb_dim // 2)), persistent=False)
        self.mlp = nn.Sequential(
            nn.Linear(emb_dim, hidden),
            Sin(hidden),
            nn.Linear(hidden, hidden),
            Sin(hidden),
            nn.Linear(hidden, channels),
        )
        # Decay rates spread over channels: from 1% left after 16 positions to 1% left after 512.
        self.register_buffer(
            "alpha", torch.linspace(math.log(100) / 16, math.log(100) / 512, channels), persistent=False
        )

    def forward(self, length: int) -> Tensor:
        return self.at(torch.arange(length, device=self.freqs.device))

    def at(self, positions: Tensor) -> Tensor:
        """The taps h_l for the given positions l, (channels, len(positions))."""
        dtype = self.mlp[0].weight.dtype
        # Positions and phases in >= float32: bfloat16 cannot even count past 256.
        pos = positions.to(work_dtype(dtype))[:, None]
        angles = pos * self.freqs.to(pos.dtype)
        h = self.mlp(torch.cat([angles.sin(), angles.cos()], dim=-1).to(dtype)).T  # (channels, length)
        return h * torch.exp(-self.alpha.to(pos.dtype)[:, None] * pos.T).to(dtype)


class Hyena(nn.Module):
    def __init__(self, d_model: int, short_width: int = 3, filter_emb: int = 8, filter_hidden: int = 32) -> None:
        super().__init__()
        self.d, self.width = d_model, short_width
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.short = nn.Conv1d(3 * d_model, 3 * d_model, short_width, groups=3 * d_model)
        self.filter = ImplicitFilter(d_model, filter_emb, filter_hidden)
        self.bias = nn.Parameter(torch.randn(d_model))  # the filter's skip term h_0' = bias
        self.out_proj = nn.Linear(d_model, d_model)
        # Taps made so far: h_{k-1} ... h_0 in the last k columns of a (d, slots) buffer, for one device,
        # dtype and version of the filter's weights.
        self._taps: tuple[tuple[Any, ...], Tensor, int] | None = None

    def _split(self, u: Tensor) -> tuple[Tensor, Tensor]:
        """Short-conv output (..., 3d) -> x0 and the long conv's input w = x1 * v."""
        x0, x1, v = u.chunk(3, dim=-1)
        return x0, x1 * v

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Any]]:
        T = x.shape[1]
        u = F.pad(self.in_proj(x).transpose(1, 2), (self.width - 1, 0))  # (b, 3d, width - 1 + T)
        uc = F.conv1d(u, self.short.weight, self.short.bias, groups=3 * self.d).transpose(1, 2)
        x0, w = self._split(uc)  # (b, T, d)
        h = self.filter(T)
        self._keep_taps(h.detach())
        long = causal_fft_conv(w.transpose(1, 2), h).transpose(1, 2) + self.bias * w
        history = into_buffer(w.transpose(1, 2), 2)  # (b, d, slots): a channel's inputs side by side
        state = {"short": u[:, :, u.shape[-1] - (self.width - 1) :], "history": history, "length": T}
        return self.out_proj(x0 * long), state

    def forward(self, x: Tensor) -> Tensor:
        return self.prefill(x)[0]

    def init_state(self, batch: int) -> dict[str, Any]:
        p = self.in_proj.weight
        return {
            "short": p.new_zeros(batch, 3 * self.d, self.width - 1),
            "history": into_buffer(p.new_zeros(batch, self.d, 0), 2),
            "length": 0,
        }

    def _taps_key(self) -> tuple[Any, ...]:
        weights = tuple((p.data_ptr(), p._version) for p in self.filter.parameters())
        return (self.filter.freqs.device, self.filter.mlp[0].weight.dtype, weights)

    def _keep_taps(self, h: Tensor) -> None:
        """Keep the taps h_0 ... h_{n-1} (channels, n) that prefill made."""
        n = h.shape[1]
        buffer = h.new_zeros(h.shape[0], room_for(n))
        buffer[:, buffer.shape[1] - n :] = h.flip(-1)
        self._taps = (self._taps_key(), buffer, n)

    def reversed_taps(self, n: int) -> Tensor:
        """(d, n) taps h_{n-1} ... h_0. h_{n-1} is made here every time (one position through the
        filter's MLP: the step's share of the filter), earlier ones only where they are missing."""
        key = self._taps_key()
        buffer, made = (self._taps[1], self._taps[2]) if self._taps and self._taps[0] == key else (None, 0)
        if buffer is None or buffer.shape[1] < n:  # a larger buffer, the kept taps moved to its end
            larger = self.bias.new_zeros(self.d, room_for(n))
            if buffer is not None:
                larger[:, larger.shape[1] - made :] = buffer[:, buffer.shape[1] - made :]
            buffer = larger
        first, slots = min(made, n - 1), buffer.shape[1]
        with torch.no_grad():  # kept from step to step, so outside autograd: a step is for decoding
            buffer[:, slots - n : slots - first] = self.filter.at(torch.arange(first, n, device=buffer.device)).flip(-1)
        self._taps = (key, buffer, max(made, n))
        return buffer[:, slots - n :]

    def step(self, x: Tensor, state: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
        window = torch.cat([state["short"], self.in_proj(x).unsqueeze(-1)], dim=-1)  # (b, 3d, width)
        x0, w = self._split((window * self.short.weight[:, 0]).sum(-1) + self.short.bias)
        n = state["length"] + 1  # inputs w_0 ... w_t, this token's included
        history = append(state["history"], n - 1, w.unsqueeze(-1), 2)
        taps = self.reversed_taps(n)  # h_t ... h_0, lined up with w_0 ... w_t
        long = torch.einsum("bds,ds->bd", history[:, :, :n], taps) + self.bias * w
        return self.out_proj(x0 * long), {"short": window[:, :, 1:], "history": history, "length": n}


def _hyena_state(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    return 3 * d_model * (kwargs.get("short_width", 3) - 1) + T * d_model


def _registry_symbols(d_model: int, kwargs: Mapping[str, Any]) -> dict[str, float]:
    # Safari's order-2 Hyena: one long convolution, a short convolution over the 3 projections.
    return {"d": d_model, "o": 1, "k": kwargs.get("short_width", 3)}


REFERENCES = (
    ReferenceSpec(
        name="hyena",
        arch_id="hyena",
        factory=Hyena,
        kwargs={"filter_hidden": 32},
        test_kwargs={"filter_hidden": 8},
        at_size=lambda size: {"filter_hidden": 64},
        state_scalars=_hyena_state,
        registry_symbols=_registry_symbols,
    ),
)
