"""A short causal depthwise convolution as an OSP module: the convolution in front of many mixers.

Zoology's MQAR models (Arora et al., 2023), H3's shift SSM, and the layers of Mamba, DeltaNet and GLA
in flash-linear-attention all read their input through one. It is not a family of its own, so this
file registers no reference; the recall model puts one before each mixer.

    parallel:  y_t = sum_j w_j * x_{t-j}  for j < width  (zero before the sequence starts)
    recurrent: buffer <- [buffer; x_t][-(width - 1):],  y_t = w . [buffer; x_t]

Its state is the last width - 1 inputs per channel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ShortConv(nn.Module):
    def __init__(self, d_model: int, width: int = 4) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"short convolution width must be at least 1, got {width}")
        self.d_model, self.width = d_model, width
        self.weight = nn.Parameter(torch.zeros(d_model, 1, width))
        with torch.no_grad():  # start as the identity plus a little of the past, so training starts stable
            self.weight[:, 0, -1] = 1.0
            self.weight[:, 0, :-1].normal_(0.0, 0.1)

    def forward(self, x: Tensor) -> Tensor:
        return self.prefill(x)[0]

    def prefill(self, x: Tensor) -> tuple[Tensor, Tensor]:
        padded = F.pad(x.transpose(1, 2), (self.width - 1, 0))  # (batch, d, width - 1 + T)
        y = F.conv1d(padded, self.weight.to(x.dtype), groups=self.d_model)
        return y.transpose(1, 2), padded[:, :, padded.shape[-1] - (self.width - 1) :]

    def init_state(self, batch: int) -> Tensor:
        return self.weight.new_zeros(batch, self.d_model, self.width - 1)

    def step(self, x: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        window = torch.cat([state, x.unsqueeze(-1)], dim=-1)  # (batch, d, width)
        y = (window * self.weight.squeeze(1).to(x.dtype)).sum(-1)
        return y, window[:, :, 1:]
