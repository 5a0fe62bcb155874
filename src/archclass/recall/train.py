"""Train one MQAR model on a mixture of K, then measure its accuracy at every K and its state."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from archclass.bound import BoundError, recall_bound
from archclass.recall.model import RecallLM
from archclass.recall.mqar import IGNORE, MQARConfig, generate, mixed_batch
from archclass.reference import ReferenceSpec

TRAIN_SEED_BASE = 1_000_000
TEST_SEED_BASE = 2_000_000  # train and test draw from disjoint seed ranges
DISTANCE_BUCKETS = (0, 16, 64, 256, 1024, 4096, 1 << 30)


@dataclass
class TrainConfig:
    arch: str
    d_model: int
    vocab: int
    pairs: Sequence[int]
    seq_len: int
    n_layers: int = 2
    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.1
    seed: int = 0
    eval_every: int = 200
    eval_sequences: int = 256
    target_accuracy: float = 0.9
    early_stop_accuracy: float = 0.99
    device: str = "cpu"
    bf16: bool = False
    compile: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    arch: str
    d_model: int
    seed: int
    vocab: int
    seq_len: int
    n_layers: int
    steps_run: int
    accuracy: dict[int, float]
    accuracy_by_distance: dict[str, float]
    capacity: int
    state_scalars: int
    state_bits: int
    bound_pairs: float | None
    tokens_per_second: float
    train_seconds: float
    overrides: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["accuracy"] = {str(k): v for k, v in self.accuracy.items()}
        return data


def capacity(accuracy: dict[int, float], target: float) -> int:
    """The largest K answered with mean accuracy >= target (0 if none)."""
    passing = [k for k, a in accuracy.items() if a >= target]
    return max(passing, default=0)


def _autocast(config: TrainConfig) -> Any:
    if config.bf16 and config.device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(model: RecallLM, config: TrainConfig) -> tuple[dict[int, float], dict[str, float]]:
    model.eval()
    accuracy: dict[int, float] = {}
    hits_by_bucket = [0] * (len(DISTANCE_BUCKETS) - 1)
    counts_by_bucket = [0] * (len(DISTANCE_BUCKETS) - 1)
    for index, pairs in enumerate(config.pairs):
        data = generate(
            MQARConfig(config.vocab, pairs, config.seq_len),
            config.eval_sequences,
            TEST_SEED_BASE + 7919 * config.seed + index,
        )
        inputs, targets = data.inputs.to(config.device), data.targets.to(config.device)
        correct = total = 0
        for start in range(0, inputs.shape[0], config.batch_size):
            chunk = slice(start, start + config.batch_size)
            with _autocast(config):
                logits = model(inputs[chunk])
            mask = targets[chunk] != IGNORE
            hits = (logits.argmax(-1) == targets[chunk]) & mask
            correct += int(hits.sum())
            total += int(mask.sum())
            distances = data.distances[chunk].to(config.device)
            for bucket in range(len(DISTANCE_BUCKETS) - 1):
                in_bucket = mask & (distances >= DISTANCE_BUCKETS[bucket]) & (distances < DISTANCE_BUCKETS[bucket + 1])
                hits_by_bucket[bucket] += int((hits & in_bucket).sum())
                counts_by_bucket[bucket] += int(in_bucket.sum())
        accuracy[pairs] = correct / max(total, 1)
    by_distance = {
        f"{DISTANCE_BUCKETS[b]}-{DISTANCE_BUCKETS[b + 1] - 1}": hits_by_bucket[b] / counts_by_bucket[b]
        for b in range(len(counts_by_bucket))
        if counts_by_bucket[b]
    }
    model.train()
    return accuracy, by_distance


def train(spec: ReferenceSpec, config: TrainConfig, log: Callable[[str], None] | None = None) -> RunResult:
    torch.manual_seed(config.seed)
    mqar_configs = [MQARConfig(config.vocab, k, config.seq_len) for k in config.pairs]
    model = RecallLM(spec, mqar_configs[0].total_vocab, config.d_model, config.n_layers, **config.overrides)
    model = model.to(config.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    warmup = max(1, config.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(step, config.steps) / config.steps))
        ),
    )
    forward: Any = torch.compile(model) if config.compile else model
    start = time.perf_counter()
    tokens = 0
    steps_run = 0
    for step in range(config.steps):
        batch = mixed_batch(mqar_configs, config.batch_size, TRAIN_SEED_BASE + config.seed * 100_003 + step)
        inputs, targets = batch.inputs.to(config.device), batch.targets.to(config.device)
        with _autocast(config):
            logits = forward(inputs)
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        tokens += inputs.numel()
        steps_run = step + 1
        if config.eval_every and steps_run % config.eval_every == 0:
            accuracy, _ = evaluate(model, config)
            if log:
                log(
                    f"{config.arch} d={config.d_model} seed={config.seed} step {steps_run} loss {loss.item():.3f} "
                    f"acc {min(accuracy.values()):.3f}..{max(accuracy.values()):.3f}"
                )
            if min(accuracy.values()) >= config.early_stop_accuracy:
                break
    if config.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    accuracy, by_distance = evaluate(model, config)
    sample = generate(mqar_configs[-1], 1, TEST_SEED_BASE - 1).inputs.to(config.device)
    model.eval()
    with torch.no_grad(), _autocast(config):
        scalars, nbytes = model.state_after(sample)
    state_bits = 8 * nbytes
    try:
        # n*p is the state's size in bits; pass it as n = bits, p = 1.
        bound = recall_bound(state_bits, 1, config.vocab, config.target_accuracy).max_pairs
    except BoundError:
        bound = None
    return RunResult(
        arch=config.arch,
        d_model=config.d_model,
        seed=config.seed,
        vocab=config.vocab,
        seq_len=config.seq_len,
        n_layers=config.n_layers,
        steps_run=steps_run,
        accuracy=accuracy,
        accuracy_by_distance=by_distance,
        capacity=capacity(accuracy, config.target_accuracy),
        state_scalars=scalars,
        state_bits=state_bits,
        bound_pairs=bound,
        tokens_per_second=tokens / seconds if seconds > 0 else float("nan"),
        train_seconds=seconds,
        overrides=dict(config.overrides),
    )
