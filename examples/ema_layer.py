import torch
from torch import nn


class EMALayer(nn.Module):
    """An exponential moving average of projected inputs: a constant-size state."""

    def __init__(self, d_model: int, decay: float = 0.9):
        super().__init__()
        self.proj, self.decay = nn.Linear(d_model, d_model), decay

    def init_state(self, batch: int) -> dict:
        return {"h": torch.zeros(batch, self.proj.out_features, device=self.proj.weight.device)}

    def step(self, x: torch.Tensor, state: dict):
        h = self.decay * state["h"] + (1 - self.decay) * self.proj(x)
        return h, {"h": h}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, T = (1 - self.decay) * self.proj(x), x.shape[1]
        powers = self.decay ** torch.arange(T, device=x.device, dtype=x.dtype)
        weights = torch.tril(powers[:, None] / powers[None, :])  # decay^(t-s) for s <= t
        return torch.einsum("ts,bsd->btd", weights, u)
