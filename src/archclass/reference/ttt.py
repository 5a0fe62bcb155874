"""TTT-Linear (Sun et al., 2024): the hidden state is the weights of a model trained while reading.

Per head an inner linear model W (d_head x d_head) with bias b; following the paper, the inner model is
wrapped in a LayerNorm and a residual, f(x; W, b) = x + LN(x W + b). Each token takes one gradient step
(inner batch size 1, the "online" form) on a reconstruction loss between two views of the token, and
the output is the updated model applied to a third view:

    W_t = W_{t-1} - eta_t grad_W l(W_{t-1}; x_t),   l = |f(k_t; W) - v_t|^2 / 2,   y_t = f(q_t; W_t)
    k, v, q = x theta_K, x theta_V, x theta_Q;   eta_t = base_lr sigmoid(x theta_lr) / d_head

W_0, b_0 and the LayerNorm are outer-loop parameters. The LayerNorm makes the update nonlinear in W, so
the online form has no parallel (dual) form: the paper's dual form needs inner mini-batches (16 tokens
sharing one W for their gradients). `forward` therefore loops over time, with all projections done in
parallel beforehand and without calling `step`. The paper's output gate and post-norm are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from archclass.reference import ReferenceSpec, attention_heads


class TTTLinear(nn.Module):
    eps = 1e-6

    def __init__(self, d_model: int, n_heads: int = 2, base_lr: float = 1.0) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads, self.d_head, self.base_lr = n_heads, d_model // n_heads, base_lr
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.lr = nn.Linear(d_model, n_heads)
        self.out = nn.Linear(d_model, d_model, bias=False)
        self.W0 = nn.Parameter(0.02 * torch.randn(n_heads, self.d_head, self.d_head))
        self.b0 = nn.Parameter(torch.zeros(n_heads, self.d_head))
        self.ln_weight = nn.Parameter(torch.ones(n_heads, self.d_head))
        self.ln_bias = nn.Parameter(torch.zeros(n_heads, self.d_head))

    def _project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        q, k, v = self.qkv(x).unflatten(-1, (3, self.n_heads, self.d_head)).unbind(-3)
        eta = self.base_lr * torch.sigmoid(self.lr(x)) / self.d_head
        return q, k, v, eta[..., None]  # (..., h, d_head) x 3, (..., h, 1)

    def _normalise(self, z: Tensor) -> tuple[Tensor, Tensor]:
        mean, var = z.mean(-1, keepdim=True), z.var(-1, keepdim=True, unbiased=False)
        std = (var + self.eps).sqrt()
        return (z - mean) / std, std

    def _inner(self, W: Tensor, b: Tensor, x: Tensor) -> Tensor:
        z_hat, _ = self._normalise(torch.einsum("bhi,bhij->bhj", x, W) + b)
        return x + self.ln_weight * z_hat + self.ln_bias

    def _update(self, W: Tensor, b: Tensor, k: Tensor, v: Tensor, eta: Tensor) -> tuple[Tensor, Tensor]:
        """One inner gradient step on l = |k + LN(k W + b) - v|^2 / 2, backpropagated through LN by hand
        (the inner loop must run under no_grad at inference, and stay differentiable for training)."""
        z_hat, std = self._normalise(torch.einsum("bhi,bhij->bhj", k, W) + b)
        grad_out = k + self.ln_weight * z_hat + self.ln_bias - v  # dl/df(k)
        g = grad_out * self.ln_weight  # dl/dz_hat
        grad_z = (g - g.mean(-1, keepdim=True) - z_hat * (g * z_hat).mean(-1, keepdim=True)) / std
        return W - eta[..., None] * k.unsqueeze(-1) * grad_z.unsqueeze(-2), b - eta * grad_z

    def forward(self, x: Tensor) -> Tensor:
        return self.prefill(x)[0]

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        q, k, v, eta = self._project(x)  # every view at once; only the inner updates are sequential
        state = self.init_state(x.shape[0])
        W, b = state["W"], state["b"]
        ys = []
        for t in range(x.shape[1]):
            W, b = self._update(W, b, k[:, t], v[:, t], eta[:, t])
            ys.append(self._inner(W, b, q[:, t]))
        return self.out(torch.stack(ys, dim=1).flatten(-2)), {"W": W, "b": b}

    def init_state(self, batch: int) -> dict[str, Tensor]:
        return {"W": self.W0.expand(batch, -1, -1, -1).clone(), "b": self.b0.expand(batch, -1, -1).clone()}

    def step(self, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        q, k, v, eta = self._project(x)
        W, b = self._update(state["W"], state["b"], k, v, eta)
        return self.out(self._inner(W, b, q).flatten(-2)), {"W": W, "b": b}


def _state(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    heads = kwargs.get("n_heads", 2)
    d = d_model // heads
    return heads * (d * d + d)  # inner W and b per head


def _registry_symbols(d_model: int, kwargs: Mapping[str, Any]) -> dict[str, float]:
    # Online TTT (inner mini-batch 1) keeps no accumulated gradient: a = 0.
    return {"d": d_model, "h": kwargs.get("n_heads", 2), "a": 0}


REFERENCES = (
    ReferenceSpec(
        name="ttt-linear",
        arch_id="ttt-linear",
        factory=TTTLinear,
        kwargs={"n_heads": 4},
        test_kwargs={"n_heads": 2},
        at_size=lambda size: {"n_heads": attention_heads(size)},
        state_scalars=_state,
        registry_symbols=_registry_symbols,
    ),
)
