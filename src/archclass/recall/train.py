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
from torch import Tensor

from archclass.bound import BoundError, recall_bound
from archclass.recall.model import RecallLM
from archclass.recall.mqar import IGNORE, MQARConfig, generate, mixed_batch
from archclass.reference import ReferenceSpec

TRAIN_SEED_BASE = 1_000_000
TEST_SEED_BASE = 2_000_000  # train and test draw from disjoint seed ranges
DISTANCE_BUCKETS = (0, 16, 64, 256, 1024, 4096, 1 << 30)
BITS_PER_SCALAR = 32
"""p for the bound. Under bf16 autocast the matrix products accumulate in float32 and the parallel
form never rounds a state to bf16, so information can flow through float32 numbers: counting 32 bits
per state scalar (not the 16 of a bf16 state tensor) gives the larger, safe bound."""
BYTES_PER_SCALAR = BITS_PER_SCALAR // 8
PLATEAU_FRACTION = 0.8
"""A loss below this fraction of ln V has left the first plateau (loss ln V: a uniform guess over values)."""


@dataclass
class TrainConfig:
    arch: str
    d_model: int
    vocab: int
    pairs: Sequence[int]
    seq_len: int
    n_layers: int = 2
    conv_width: int = 4
    test_seq_lens: Sequence[int] = ()
    """Further sequence lengths to test the trained model at (its state, and attention's bound, change)."""
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
    train_mix: Sequence[tuple[int, int, float]] = ()
    """(sequence length, K, weight) to train on, each step one of them drawn with probability in
    proportion to its weight (Zoology's mixture of short easy and longer harder sequences). Empty:
    train on `pairs` mixed within every batch at `seq_len`. Testing is always at seq_len and `pairs`."""
    max_seconds: float = 0.0
    """Stop training after this many seconds (0: no limit); the run records that it was cut."""


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
    bits_per_scalar: int = BITS_PER_SCALAR
    state_grows_with_length: bool = False
    diverged: bool = False
    """The training loss became NaN or infinite: the run measures a numerical failure, not a capacity."""
    device: str = "cpu"
    history: list[dict[str, float]] = field(default_factory=list)
    """(step, loss, lowest and highest accuracy over K) at every evaluation during training."""
    lr: float | None = None
    """Peak learning rate (None in runs recorded before it was kept)."""
    train_mix: list[list[float]] = field(default_factory=list)
    """The (T, K, weight) mixture trained on; empty when trained on `pairs` at seq_len."""
    plateau_step: int | None = None
    """The first evaluation step at which the training loss fell below PLATEAU_FRACTION x ln V (the
    first MQAR plateau, where the model spreads its guess over all values, has loss ln V); None: never."""
    time_limited: bool = False
    """Training was cut by max_seconds before its planned steps."""
    at_length: dict[int, dict[str, Any]] = field(default_factory=dict)
    """For each test_seq_len: accuracy by K, capacity, state and bound of the same model at that length."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["accuracy"] = {str(k): v for k, v in self.accuracy.items()}
        data["at_length"] = {
            str(length): {**entry, "accuracy": {str(k): v for k, v in entry["accuracy"].items()}}
            for length, entry in self.at_length.items()
        }
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
def evaluate(
    model: RecallLM, config: TrainConfig, seq_len: int | None = None, sequences: int | None = None
) -> tuple[dict[int, float], dict[str, float]]:
    """Accuracy at every K on held-out sequences of seq_len (default: the training length), and
    accuracy by the distance from a pair's key to its query, pooled over K."""
    seq_len = seq_len or config.seq_len
    sequences = sequences or config.eval_sequences
    model.eval()
    buckets = torch.tensor(DISTANCE_BUCKETS, device=config.device)
    hits_by_bucket = torch.zeros(len(DISTANCE_BUCKETS) - 1, device=config.device)
    counts_by_bucket = torch.zeros_like(hits_by_bucket)
    per_k: dict[int, tuple[Tensor, Tensor]] = {}
    # Tested sequences may be longer than trained ones (1,024 against 256 in the published protocol):
    # fewer of them at a time keep a test batch's activations within a training batch's memory.
    trained = int(max((length for length, _, _ in config.train_mix), default=config.seq_len))
    rows = max(1, config.batch_size * min(trained, seq_len) // seq_len)
    for index, pairs in enumerate(config.pairs):
        data = generate(
            MQARConfig(config.vocab, pairs, seq_len),
            sequences,
            TEST_SEED_BASE + 7919 * config.seed + 131 * seq_len + index,
            config.device,
        )
        correct = torch.zeros((), device=config.device)
        total = torch.zeros((), device=config.device)
        for start in range(0, sequences, rows):
            chunk = slice(start, start + rows)
            mask = data.targets[chunk] != IGNORE
            with _autocast(config):
                logits = model(data.inputs[chunk], mask)
            hits = logits.argmax(-1) == data.targets[chunk][mask]
            correct += hits.sum()
            total += mask.sum()
            bucket = torch.bucketize(data.distances[chunk][mask], buckets, right=True) - 1
            hits_by_bucket.index_add_(0, bucket, hits.float())
            counts_by_bucket.index_add_(0, bucket, torch.ones_like(bucket, dtype=torch.float))
        per_k[pairs] = (correct, total)
    model.train()
    accuracy = {k: float(c) / max(float(t), 1.0) for k, (c, t) in per_k.items()}  # one sync per K, at the end
    hits_list, counts_list = hits_by_bucket.tolist(), counts_by_bucket.tolist()
    by_distance = {
        f"{DISTANCE_BUCKETS[b]}-{DISTANCE_BUCKETS[b + 1] - 1}": hits_list[b] / counts_list[b]
        for b in range(len(counts_list))
        if counts_list[b]
    }
    return accuracy, by_distance


def state_and_bound(model: RecallLM, config: TrainConfig, seq_len: int) -> tuple[int, int, float | None]:
    """(state scalars, bits per scalar, bound on K) of the model after one sequence of seq_len tokens."""
    pairs = max(1, min(max(config.pairs), seq_len // 4))  # the state's size does not depend on the content
    sample = generate(MQARConfig(config.vocab, pairs, seq_len), 1, TEST_SEED_BASE - 1, config.device)
    model.eval()
    with torch.no_grad(), _autocast(config):
        scalars, nbytes = model.state_after(sample.inputs)
    model.train()
    bits_per_scalar = max(BITS_PER_SCALAR, math.ceil(8 * nbytes / max(scalars, 1)))
    try:
        bound: float | None = recall_bound(scalars, bits_per_scalar, config.vocab, config.target_accuracy).max_pairs
    except BoundError:
        bound = None
    return scalars, bits_per_scalar, bound


def training_batches(config: TrainConfig) -> Callable[[int], Any]:
    """step -> the training batch of that step, a pure function of (config, step)."""
    seed_base = TRAIN_SEED_BASE + config.seed * 100_003
    if not config.train_mix:
        mixed = [MQARConfig(config.vocab, k, config.seq_len) for k in config.pairs]
        return lambda step: mixed_batch(mixed, config.batch_size, seed_base + step, config.device)
    parts = [MQARConfig(config.vocab, int(k), int(length)) for length, k, _ in config.train_mix]
    weights = torch.tensor([float(w) for _, _, w in config.train_mix], dtype=torch.float64)
    chooser = torch.Generator().manual_seed(seed_base)
    choices: list[int] = []

    def batch(step: int) -> Any:
        while len(choices) <= step:  # drawn in order, so a step's part does not depend on who asks first
            choices.extend(torch.multinomial(weights, 1024, replacement=True, generator=chooser).tolist())
        return generate(parts[choices[step]], config.batch_size, seed_base + step, config.device)

    return batch


def train(spec: ReferenceSpec, config: TrainConfig, log: Callable[[str], None] | None = None) -> RunResult:
    torch.manual_seed(config.seed)
    mqar_configs = [MQARConfig(config.vocab, k, config.seq_len) for k in config.pairs]
    batches = training_batches(config)
    plateau_loss = PLATEAU_FRACTION * math.log(config.vocab)
    plateau_step: int | None = None
    time_limited = False
    model = RecallLM(
        spec, mqar_configs[0].total_vocab, config.d_model, config.n_layers, config.conv_width, dict(config.overrides)
    )
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
    history: list[dict[str, float]] = []
    diverged = False
    for step in range(config.steps):
        batch = batches(step)
        scored = batch.targets != IGNORE
        with _autocast(config):
            logits = forward(batch.inputs, scored)
        loss = F.cross_entropy(logits.float(), batch.targets[scored])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        tokens += batch.inputs.numel()
        steps_run = step + 1
        if config.eval_every and steps_run % config.eval_every == 0:
            if not math.isfinite(loss.item()):
                diverged = True
                history.append({"step": steps_run, "loss": loss.item(), "accuracy_min": 0.0, "accuracy_max": 0.0})
                if log:
                    log(f"{config.arch} d={config.d_model} seed={config.seed} step {steps_run}: loss is not finite")
                break
            if plateau_step is None and loss.item() < plateau_loss:
                plateau_step = steps_run
            accuracy, _ = evaluate(model, config, sequences=min(config.eval_sequences, 128))
            low, high = min(accuracy.values()), max(accuracy.values())
            history.append({"step": steps_run, "loss": loss.item(), "accuracy_min": low, "accuracy_max": high})
            if log:
                log(
                    f"{config.arch} d={config.d_model} seed={config.seed} step {steps_run} loss {loss.item():.3f} "
                    f"acc {low:.3f}..{high:.3f}"
                )
            if low >= config.early_stop_accuracy:
                break
        if config.max_seconds and time.perf_counter() - start > config.max_seconds:
            time_limited = steps_run < config.steps
            break
    if config.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    accuracy, by_distance = evaluate(model, config)
    scalars, bits_per_scalar, bound = state_and_bound(model, config, config.seq_len)
    longer_scalars, _, _ = state_and_bound(model, config, 2 * config.seq_len)
    at_length: dict[int, dict[str, Any]] = {}
    for length in config.test_seq_lens:
        if length == config.seq_len:
            continue
        length_accuracy, length_by_distance = evaluate(model, config, seq_len=length)
        length_scalars, length_bits, length_bound = state_and_bound(model, config, length)
        at_length[length] = {
            "accuracy": length_accuracy,
            "accuracy_by_distance": length_by_distance,
            "capacity": capacity(length_accuracy, config.target_accuracy),
            "state_scalars": length_scalars,
            "state_bits": length_scalars * length_bits,
            "bound_pairs": length_bound,
        }
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
        state_bits=scalars * bits_per_scalar,
        bound_pairs=bound,
        tokens_per_second=tokens / seconds if seconds > 0 else float("nan"),
        train_seconds=seconds,
        overrides=dict(config.overrides),
        bits_per_scalar=bits_per_scalar,
        state_grows_with_length=longer_scalars != scalars,
        diverged=diverged,
        device=torch.cuda.get_device_name(config.device) if config.device.startswith("cuda") else "cpu",
        history=history,
        at_length=at_length,
        lr=config.lr,
        train_mix=[[float(x) for x in part] for part in config.train_mix],
        plateau_step=plateau_step,
        time_limited=time_limited,
    )
