"""A small language model for MQAR: embedding, blocks of (short convolution, sequence mixer, MLP), head.

The sequence mixers are the reference implementations, so the model trained here is the same code the
probe measures, and its state (the mixers' states and the convolutions' buffers, summed over layers) is
what the bound is given.

Each mixer reads its input through a short causal depthwise convolution (reference/short_conv.py), as
in Zoology's MQAR models (Arora et al., 2023). It lets the token at a value's position see the key just
before it, so one recurrent layer can write the pair into its state; without it a recurrent model must
first learn a previous-token layer, which on MQAR costs tens of thousands of training steps. The
convolution keeps its last `width - 1` inputs between steps, and they are counted as state like any
other.

The output head is the token embedding itself (tied weights), initialised small (N(0, 0.02^2)), as in
Zoology's language model. With tied weights, answering a query is copying the value token's embedding
to the query position, which a mixer can learn quickly; with an untied head of default initialisation
the model must also learn a V-way map from values' embeddings to their logits, and at V = 1,024 even
attention stayed on the first plateau (loss ln V) for 2,000 steps (results/recall/attempts/).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor, nn

from archclass.osp import copy_state, prefill, state_bytes, state_scalars
from archclass.probe.state_size import StateMeter, find_buffers
from archclass.reference import ReferenceSpec, build
from archclass.reference.short_conv import ShortConv

EMBEDDING_STD = 0.02
"""Zoology's initialisation of the (tied) token embedding."""


def _accepted(spec: ReferenceSpec, overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides this family's constructor takes: `--kw chunk_size=8` applies to the SSMs of a
    sweep and is ignored by the attention models that have no chunks."""
    parameters = inspect.signature(spec.factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return overrides
    return {key: value for key, value in overrides.items() if key in parameters}


class Block(nn.Module):
    def __init__(self, mixer: nn.Module, d_model: int, conv_width: int = 4) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.conv = ShortConv(d_model, conv_width) if conv_width > 1 else None
        self.mixer = mixer
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def mixer_input(self, x: Tensor) -> Tensor:
        h = self.norm1(x)
        return self.conv(h) if self.conv is not None else h

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.mixer(self.mixer_input(x))
        return x + self.mlp(self.norm2(x))


class RecallLM(nn.Module):
    def __init__(
        self,
        spec: ReferenceSpec,
        vocab_size: int,
        d_model: int,
        n_layers: int = 2,
        conv_width: int = 4,
        mixer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.spec, self.d_model = spec, d_model
        self.embed = nn.Embedding(vocab_size, d_model)
        accepted = _accepted(spec, mixer_kwargs or {})
        self.blocks = nn.ModuleList(
            Block(build(spec, d_model, **accepted), d_model, conv_width) for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        nn.init.normal_(self.embed.weight, std=EMBEDDING_STD)
        self.head.weight = self.embed.weight

    def forward(self, tokens: Tensor, scored: Tensor | None = None) -> Tensor:
        """Logits (batch, T, vocab), or with `scored` (a bool mask like tokens) only at the scored
        positions, (n_scored, vocab): MQAR scores a few query positions a sequence, and logits at every
        position of a batch of 256 sequences of 1,024 tokens over V = 8,192 are 8.6 GB in float32."""
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x if scored is None else x[scored]))

    @torch.no_grad()
    def state_after(self, tokens: Tensor) -> tuple[int, int]:
        """(scalars, bytes) of the model's whole state after reading `tokens` (one sequence).

        Each convolution and mixer is run on the activations it would see, and its state after the last
        token is counted; MLPs and norms carry nothing between steps.
        """
        x = self.embed(tokens[:1])
        scalars = total_bytes = 0
        for block in self.blocks:
            assert isinstance(block, Block)
            h = block.norm1(x)
            if block.conv is not None:
                h, buffer = block.conv.prefill(h)
                scalars += state_scalars(buffer)
                total_bytes += state_bytes(buffer)
            y, state = prefill(block.mixer, h)  # type: ignore[arg-type]
            counted, nbytes = _meter(block.mixer, h).measure(state)
            scalars += counted
            total_bytes += nbytes
            x = x + y
            x = x + block.mlp(block.norm2(x))
        return scalars, total_bytes


def _meter(mixer: nn.Module, h: Tensor, steps: int = 8) -> StateMeter:
    """How to count the mixer's state: a cache kept in a buffer with spare slots (attention's) counts
    only its filled slots, found, as the probe finds them, from the states of the mixer's first steps."""
    state = mixer.init_state(1)  # type: ignore[operator]
    observations = [copy_state(state)]
    for t in range(min(steps, h.shape[1])):
        _, state = mixer.step(h[:, t], copy_state(state))  # type: ignore[operator]
        observations.append(copy_state(state))
    return StateMeter(find_buffers(observations))
