import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from archclass.recall.mqar import IGNORE, MQARConfig, generate, mixed_batch  # noqa: E402
from archclass.recall.train import TEST_SEED_BASE, TRAIN_SEED_BASE, capacity  # noqa: E402

CONFIG = MQARConfig(vocab=32, pairs=8, seq_len=64)


def test_every_query_asks_a_shown_key_for_its_value():
    batch = generate(CONFIG, 50, seed=3)
    F, V, K = CONFIG.filler, CONFIG.vocab, CONFIG.pairs
    for row in range(50):
        tokens, targets = batch.inputs[row].tolist(), batch.targets[row].tolist()
        shown = {tokens[2 * i]: tokens[2 * i + 1] for i in range(K)}
        assert len(shown) == K  # keys distinct
        assert all(F <= k < F + V for k in shown) and all(F + V <= v < F + 2 * V for v in shown.values())
        queries = [(p, t) for p, t in enumerate(targets) if t != IGNORE]
        assert len(queries) == K
        for position, target in queries:
            assert shown[tokens[position]] == target
            assert batch.distances[row, position] == position - list(shown).index(tokens[position]) * 2
        fillers = [t for p, t in enumerate(tokens[2 * K :], start=2 * K) if targets[p] == IGNORE]
        assert all(0 <= t < F for t in fillers)  # filler never collides with keys or values


def test_values_are_roughly_uniform():
    values = generate(MQARConfig(vocab=8, pairs=4, seq_len=16), 4000, seed=0).inputs[:, 1:8:2].flatten()
    counts = torch.bincount(values - 4 - 8, minlength=8).float()
    assert (counts / counts.mean() - 1).abs().max() < 0.1


def test_generation_is_deterministic_and_train_test_disjoint():
    a, b = generate(CONFIG, 20, seed=5), generate(CONFIG, 20, seed=5)
    assert torch.equal(a.inputs, b.inputs)
    train = {tuple(r) for s in range(20) for r in generate(CONFIG, 16, TRAIN_SEED_BASE + s).inputs.tolist()}
    test = {tuple(r) for r in generate(CONFIG, 256, TEST_SEED_BASE).inputs.tolist()}
    assert not train & test


def test_mixture_keeps_each_K():
    batch = mixed_batch([MQARConfig(32, 2, 64), MQARConfig(32, 8, 64)], 10, seed=1)
    per_row = (batch.targets != IGNORE).sum(1).tolist()
    assert sorted(set(per_row)) == [2, 8] and len(per_row) == 10


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"vocab": 4, "pairs": 8, "seq_len": 64}, "pairs <= vocab"),
        ({"vocab": 32, "pairs": 8, "seq_len": 16}, "shorter"),
    ],
)
def test_bad_configs(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        MQARConfig(**kwargs)


def test_capacity_is_the_largest_K_at_target():
    assert capacity({4: 1.0, 8: 0.95, 16: 0.5, 32: 0.1}, 0.9) == 8
    assert capacity({4: 0.2}, 0.9) == 0
