"""Native Sparse Attention (NSA, Yuan et al., 2025): three attention branches over one KV cache, gated.

    compressed:  blocks of `block` keys taken every `stride` tokens are squeezed by a learned map
                 (here one linear layer over the flattened block, which sees positions inside the block)
                 into one key and one value; the query attends over the ceil-ish T / stride of them.
    selected:    the compressed attention probabilities score the `select_block`-sized blocks of the
                 cache (a block scores the probability of every compressed block overlapping it); the
                 query attends over all keys of its top `n_select` blocks.
    window:      ordinary attention over the last `window` tokens.
    y_t = g_cmp * o_cmp + g_slc * o_slc + g_win * o_win,   g = sigmoid(W_g x_t) per head and branch

The state is the full KV cache (selection may pick any old block) plus the compressed keys and values:
2 * d_model * (T + n_cmp(T)) with n_cmp(T) = (T - block) // stride + 1 once T >= block. The branches
share keys and values, and each head selects its own blocks (the paper shares a selection across a GQA
group; with one kv head per query head that group is one head).

The KV cache lives in buffers with spare slots and a length, as softmax attention's does, so a step
writes one slot and reads views of the filled part. The compressed cache gains a row only every
`stride` tokens and is kept exactly filled (concatenated when a block completes): the probe recognises
a buffer by one more slot a step, so spare rows there would be counted as held; the concatenation
copies n_cmp rows every `stride` tokens, 1/stride of the n_cmp rows every step reads from it anyway.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from archclass.reference import ReferenceSpec, attention_heads
from archclass.reference._ops import append, into_buffer
from archclass.reference.attention import SoftmaxAttention


def n_compressed(length: int, block: int, stride: int) -> int:
    return 0 if length < block else (length - block) // stride + 1


def _attend(q: Tensor, k: Tensor, v: Tensor, visible: Tensor) -> tuple[Tensor, Tensor]:
    """Masked softmax attention; rows that see nothing give zeros. Returns output and probabilities."""
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    p = scores.masked_fill(~visible, float("-inf")).softmax(-1).nan_to_num(0.0)
    return p @ v, p


class NativeSparseAttention(SoftmaxAttention):
    def __init__(
        self,
        d_model: int,
        n_heads: int = 2,
        block: int = 4,
        stride: int = 2,
        select_block: int = 4,
        n_select: int = 2,
        window: int = 5,
    ) -> None:
        super().__init__(d_model, n_heads)
        self.block, self.stride, self.select_block = block, stride, select_block
        self.n_select, self.window = n_select, window
        self.compress_k = nn.Linear(block * self.d_head, self.d_head, bias=False)
        self.compress_v = nn.Linear(block * self.d_head, self.d_head, bias=False)
        self.gate = nn.Linear(d_model, 3 * n_heads)

    def _compress(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """(batch, heads, T, d_head) -> every complete block's compressed key and value."""
        if k.shape[2] < self.block:
            empty = k[:, :, :0]
            return empty, empty
        blocks = [t.unfold(2, self.block, self.stride).transpose(-1, -2).flatten(-2) for t in (k, v)]
        return self.compress_k(blocks[0]), self.compress_v(blocks[1])

    def _block_scores(self, p_cmp: Tensor, n_blocks: int) -> Tensor:
        """(..., n_cmp) compressed probabilities -> (..., n_blocks) selection-block importance."""
        i = torch.arange(p_cmp.shape[-1], device=p_cmp.device)
        first = i * self.stride // self.select_block  # selection blocks of compressed block i's first
        last = (i * self.stride + self.block - 1) // self.select_block  # and last token
        scores = p_cmp.new_zeros(*p_cmp.shape[:-1], n_blocks)
        for offset in range((self.block - 1) // self.select_block + 2):  # blocks one compressed block spans
            j = first + offset
            weight = p_cmp * (j <= last)
            scores = scores.scatter_add(-1, j.clamp(max=n_blocks - 1).expand_as(p_cmp), weight)
        return scores

    def _top_blocks(self, scores: Tensor) -> Tensor:
        # A stable sort breaks ties (blocks no compressed block covers yet score 0) by position, the
        # same way in both forms.
        order = torch.sort(scores, dim=-1, descending=True, stable=True).indices
        return order[..., : min(self.n_select, scores.shape[-1])]

    def _mix(self, x: Tensor, outputs: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        g = self.gate(x).sigmoid().unflatten(-1, (3, self.n_heads)).permute(2, 0, 3, 1).unsqueeze(-1)
        y = sum(g[i] * o for i, o in enumerate(outputs))  # (batch, heads, T, d_head)
        return self.out(y.transpose(1, 2).flatten(-2))

    def forward(self, x: Tensor) -> Tensor:
        return self.prefill(x)[0]

    def prefill(self, x: Tensor) -> tuple[Tensor, dict[str, Any]]:
        q, k, v = self.project(x)
        T = x.shape[1]
        pos = torch.arange(T, device=x.device)
        gap = pos[:, None] - pos[None, :]
        k_cmp, v_cmp = self._compress(k, v)
        block_end = torch.arange(k_cmp.shape[2], device=x.device) * self.stride + self.block - 1
        o_cmp, p_cmp = _attend(q, k_cmp, v_cmp, block_end[None, :] <= pos[:, None])
        n_blocks = -(-T // self.select_block)
        block_start = torch.arange(n_blocks, device=x.device) * self.select_block
        scores = self._block_scores(p_cmp, n_blocks).masked_fill(block_start > pos[:, None], float("-inf"))
        chosen = torch.zeros_like(scores, dtype=torch.bool).scatter(-1, self._top_blocks(scores), True)
        o_slc, _ = _attend(q, k, v, chosen[..., pos // self.select_block] & (gap >= 0))
        o_win, _ = _attend(q, k, v, (gap >= 0) & (gap < self.window))
        state = {"k": into_buffer(k, 2), "v": into_buffer(v, 2), "length": T, "k_cmp": k_cmp, "v_cmp": v_cmp}
        return self._mix(x, (o_cmp, o_slc, o_win)), state

    def prefill_state(self, x: Tensor) -> dict[str, Any]:
        """prefill's state without its outputs (three T x T masked attentions): every token's key and
        value, and the compressed blocks."""
        _, k, v = self.project(x)
        k_cmp, v_cmp = self._compress(k, v)
        return {"k": into_buffer(k, 2), "v": into_buffer(v, 2), "length": x.shape[1], "k_cmp": k_cmp, "v_cmp": v_cmp}

    def init_state(self, batch: int) -> dict[str, Any]:
        empty = self.qkv.weight.new_zeros(batch, self.n_heads, 0, self.d_head)
        return {**super().init_state(batch), "k_cmp": empty, "v_cmp": empty.clone()}

    def step(self, x: Tensor, state: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
        q, k, v = self.project(x.unsqueeze(1))
        n = state["length"] + 1  # tokens read, this one included
        K, V = append(state["k"], n - 1, k, 2), append(state["v"], n - 1, v, 2)
        k_cmp, v_cmp = state["k_cmp"], state["v_cmp"]
        if n >= self.block and (n - self.block) % self.stride == 0:  # this token completes a block
            new_k, new_v = self._compress(K[:, :, n - self.block : n], V[:, :, n - self.block : n])
            k_cmp, v_cmp = torch.cat([k_cmp, new_k], dim=2), torch.cat([v_cmp, new_v], dim=2)
        all_cmp = torch.ones(1, k_cmp.shape[2], dtype=torch.bool, device=x.device)
        o_cmp, p_cmp = _attend(q, k_cmp, v_cmp, all_cmp)
        # Gather the chosen blocks' tokens; the current block may be partly in the future: mask those.
        chosen = self._top_blocks(self._block_scores(p_cmp, (n - 1) // self.select_block + 1))
        offsets = torch.arange(self.select_block, device=x.device)
        index = (chosen.unsqueeze(-1) * self.select_block + offsets).flatten(-2)  # (batch, heads, 1, tokens)
        visible = index <= n - 1
        index = index.clamp(max=n - 1).squeeze(2).unsqueeze(-1).expand(-1, -1, -1, self.d_head)
        o_slc, _ = _attend(q, K[:, :, :n].gather(2, index), V[:, :, :n].gather(2, index), visible)
        window = torch.ones(1, min(n, self.window), dtype=torch.bool, device=x.device)
        recent = slice(max(0, n - self.window), n)
        o_win, _ = _attend(q, K[:, :, recent], V[:, :, recent], window)
        y = self._mix(x.unsqueeze(1), (o_cmp, o_slc, o_win)).squeeze(1)
        return y, {"k": K, "v": V, "length": n, "k_cmp": k_cmp, "v_cmp": v_cmp}


def _cache_and_compressed(T: int, d_model: int, kwargs: Mapping[str, Any]) -> int:
    heads = kwargs.get("n_heads", 2)
    d = heads * (d_model // heads)
    return 2 * d * (T + n_compressed(T, kwargs.get("block", 4), kwargs.get("stride", 2)))


def _registry_symbols(d_model: int, kwargs: Mapping[str, Any]) -> dict[str, float]:
    return {
        "d": d_model,
        "s": kwargs.get("stride", 2),
        "l": kwargs.get("select_block", 4),
        "n": kwargs.get("n_select", 2),
        "w": kwargs.get("window", 5),
    }


REFERENCES = (
    ReferenceSpec(
        name="native-sparse-attention",
        arch_id="native-sparse-attention",
        factory=NativeSparseAttention,
        kwargs={"n_heads": 4, "block": 16, "stride": 8, "select_block": 32, "n_select": 4, "window": 32},
        test_kwargs={"n_heads": 2, "block": 4, "stride": 2, "select_block": 4, "n_select": 2, "window": 5},
        at_size=lambda size: {
            "n_heads": attention_heads(size),
            "block": 32,
            "stride": 16,
            "select_block": 64,
            "n_select": 16,
            "window": 512,
        },
        state_scalars=_cache_and_compressed,
        registry_symbols=_registry_symbols,
    ),
)
