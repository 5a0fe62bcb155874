"""DeltaNet (Schlag et al., 2021; Yang et al., 2024) and Gated DeltaNet (Yang et al., 2025).

The state is a d_k x d_v associative memory per head, written with the delta rule: read what the
memory holds for key k_t, and move it a fraction beta_t of the way to v_t (stored here as S = sum k^T v,
the transpose of the papers' S_t = S_{t-1}(I - beta k k^T) + beta v k^T; same size, same update):

    S_t = alpha_t (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T,   y_t = S_t^T q_t

with L2-normalised keys (so I - beta k k^T is a contraction), beta_t = sigmoid(.), and alpha_t = 1 for
DeltaNet or a Mamba-2 style scalar gate per head for Gated DeltaNet.

Parallel form (Yang et al., 2024, Sec. 3): S_t = sum_{s<=t} (G_t / G_s) k_s u_s^T with G_t = prod alpha
and "pseudo values" u_t = beta_t (v_t - alpha_t S_{t-1}^T k_t). Those solve one unit lower-triangular
system, (I + tril(diag(beta) (K K^T * Gamma), -1)) U = diag(beta) V with Gamma[t, s] = G_t / G_s, and then
Y = tril(Q K^T * Gamma) U. The papers' short convolutions, output norm and gate are left out.

Training uses the chunked WY form (`chunk_size` > 0; Yang et al., 2024, Sec. 3.3): the triangular
system is solved inside chunks of c tokens only (all chunks at once), giving W = T (exp(g) * K) and
U = T V with T = (I + A)^-1 diag(beta); a chunk entered with state S then has pseudo values U - W S,
outputs exp(g) Q S + tril(Q K^T * Gamma)(U - W S), and leaves exp(g_c) S + (K * exp(g_c - g))^T (U - W S).
The work is T x c x d, not T x T x d. `chunk_size=0` keeps the whole-sequence form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archclass.reference import ReferenceSpec, attention_heads


def chunked_delta_rule(
    q: Tensor, k: Tensor, v: Tensor, beta: Tensor, log_alpha: Tensor, chunk: int
) -> tuple[Tensor, Tensor]:
    """The (gated) delta rule chunk by chunk. q, k, v: (b, h, T, d); beta, log_alpha: (b, h, T).

    Returns y (b, h, T, d_v) and the last state S (b, h, d_k, d_v). The sequence is padded to whole
    chunks with beta = 0 and log_alpha = 0 (and zero keys): a padded token neither writes nor decays.
    """
    T = q.shape[-2]
    pad = -T % chunk
    if pad:
        q, k, v = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
        beta, log_alpha = (F.pad(t, (0, pad)) for t in (beta, log_alpha))
    n = q.shape[-2] // chunk
    q, k, v = (t.unflatten(-2, (n, chunk)) for t in (q, k, v))  # (b, h, n, c, d)
    beta, log_alpha = (t.unflatten(-1, (n, chunk)) for t in (beta, log_alpha))  # (b, h, n, c)
    g = log_alpha.cumsum(-1)  # log decay since each chunk's start
    causal = torch.ones(chunk, chunk, dtype=torch.bool, device=q.device).tril()
    gamma = (g[..., :, None] - g[..., None, :]).masked_fill(~causal, float("-inf")).exp()
    A = (beta[..., None] * (k @ k.transpose(-1, -2)) * gamma).tril(-1)
    eye = torch.eye(chunk, dtype=q.dtype, device=q.device)
    solve = torch.linalg.solve_triangular(eye + A, torch.cat([beta[..., None] * g.exp()[..., None] * k,
                                                              beta[..., None] * v], -1),
                                          upper=False, unitriangular=True)  # fmt: skip
    W, U = solve.split([k.shape[-1], v.shape[-1]], -1)
    scores = (q @ k.transpose(-1, -2)) * gamma  # causal within the chunk
    read = q * g.exp()[..., None]
    to_end = k * (g[..., -1:] - g).exp()[..., None]
    S = q.new_zeros(*q.shape[:2], k.shape[-1], v.shape[-1])
    outputs = []
    for index in range(n):
        pseudo = U[:, :, index] - W[:, :, index] @ S
        outputs.append(read[:, :, index] @ S + scores[:, :, index] @ pseudo)
        S = g[:, :, index, -1, None, None].exp() * S + to_end[:, :, index].transpose(-1, -2) @ pseudo
    return torch.stack(outputs, 2).flatten(2, 3)[..., :T, :], S


class DeltaNet(nn.Module):
    gated = False

    def __init__(self, d_model: int, n_heads: int = 2, chunk_size: int = 64) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads, self.d_head, self.chunk = n_heads, d_model // n_heads, chunk_size
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.beta = nn.Linear(d_model, n_heads)
        self.out = nn.Linear(d_model, d_model, bias=False)
        if self.gated:
            # alpha = exp(-A dt) with dt = softplus(x W + dt_bias): Mamba-2's discretised decay, with
            # its init (A in [1, 16], dt in [1e-3, 1e-1]) spread deterministically over the heads.
            self.alpha = nn.Linear(d_model, n_heads)
            self.A_log = nn.Parameter(torch.linspace(1.0, 16.0, n_heads).log())
            dt = torch.logspace(-3, -1, n_heads)
            with torch.no_grad():
                self.alpha.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus

    def _project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        q, k, v = self.qkv(x).unflatten(-1, (3, self.n_heads, self.d_head)).unbind(-3)
        q, k = F.normalize(F.silu(q), dim=-1), F.normalize(F.silu(k), dim=-1)
        beta = torch.sigmoid(self.beta(x))
        if self.gated:
            log_alpha = -self.A_log.exp() * F.softplus(self.alpha(x))
        else:
            log_alpha = torch.zeros_like(beta)
        return q, k, v, beta, log_alpha

    def _parallel(self, x: Tensor) -> tuple[Tensor, Tensor]:
        work = torch.promote_types(x.dtype, torch.float32)  # triangular solves want >= float32
        q, k, v, beta, log_alpha = (t.transpose(1, 2).to(work) for t in self._project(x))
        if self.chunk:
            y, S = chunked_delta_rule(q, k, v, beta, log_alpha, self.chunk)
            return self.out(y.transpose(1, 2).flatten(-2).to(x.dtype)), S
        T = x.shape[1]
        g = log_alpha.cumsum(-1)  # (b, h, T): log G_t
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        gamma = (g[..., :, None] - g[..., None, :]).masked_fill(~causal, float("-inf")).exp()
        A = (beta[..., None] * (k @ k.transpose(-1, -2)) * gamma).tril(-1)
        eye = torch.eye(T, dtype=work, device=x.device)
        U = torch.linalg.solve_triangular(eye + A, beta[..., None] * v, upper=False, unitriangular=True)
        y = ((q @ k.transpose(-1, -2)) * gamma) @ U
        S = (k * (g[..., -1:] - g).exp()[..., None]).transpose(-1, -2) @ U
        return self.out(y.transpose(1, 2).flatten(-2).to(x.dtype)), S

    def forward(self, x: Tensor) -> Tensor:
        return self._parallel(x)[0]

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        y, S = self._parallel(x)
        return y, {"S": S.to(x.dtype)}

    def init_state(self, batch: int) -> dict[str, Tensor]:
        return {"S": self.qkv.weight.new_zeros(batch, self.n_heads, self.d_head, self.d_head)}

    def step(self, x: Tensor, state: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        q, k, v, beta, log_alpha = self._project(x)  # (b, h, d_head), (b, h)
        S = log_alpha.exp()[..., None, None] * state["S"]
        recalled = torch.einsum("bhk,bhkv->bhv", k, S)  # what the memory returns for k_t now
        S = S + beta[..., None, None] * k.unsqueeze(-1) * (v - recalled).unsqueeze(-2)
        y = torch.einsum("bhk,bhkv->bhv", q, S)
        return self.out(y.flatten(-2)), {"S": S}


class GatedDeltaNet(DeltaNet):
    gated = True


def _state(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    heads = kwargs.get("n_heads", 2)
    return heads * (d_model // heads) ** 2


def _deltanet_symbols(d_model: int, kwargs: Mapping[str, Any]) -> dict[str, float]:
    # The references leave out the short convolutions: a kernel of width 1 keeps no buffer.
    return {"d": d_model, "h": kwargs.get("n_heads", 2), "k": 1}


def _gated_deltanet_symbols(d_model: int, kwargs: Mapping[str, Any]) -> dict[str, float]:
    heads = kwargs.get("n_heads", 2)
    return {"d": d_model, "h": heads, "dk": d_model / heads, "dv": d_model / heads, "k": 1}


REFERENCES = (
    ReferenceSpec(
        name="deltanet",
        arch_id="deltanet",
        factory=DeltaNet,
        kwargs={"n_heads": 4},
        test_kwargs={"n_heads": 2, "chunk_size": 3},
        at_size=lambda size: {"n_heads": attention_heads(size)},
        state_scalars=_state,
        registry_symbols=_deltanet_symbols,
    ),
    ReferenceSpec(
        name="gated-deltanet",
        arch_id="gated-deltanet",
        factory=GatedDeltaNet,
        kwargs={"n_heads": 4},
        test_kwargs={"n_heads": 2, "chunk_size": 3},
        at_size=lambda size: {"n_heads": attention_heads(size)},
        state_scalars=_state,
        registry_symbols=_gated_deltanet_symbols,
    ),
)
