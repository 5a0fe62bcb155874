from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from torch import nn  # noqa: E402

from archclass.errors import ArchclassError  # noqa: E402
from archclass.probe.runner import probe_module  # noqa: E402
from archclass.probe.targets import load_module_class  # noqa: E402

from ..conftest import ROOT, run_cli  # noqa: E402

LENGTHS = [16, 32, 64, 128, 256]


class GrowingCache(nn.Module):
    """Keeps every input (a KV-cache-like state) and reads all of it each step."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.proj = nn.Linear(d_model, d_model)

    def init_state(self, batch: int):
        return self.proj.weight.new_zeros(batch, 0, self.proj.in_features)

    def step(self, x, cache):
        cache = torch.cat([cache, x[:, None]], dim=1)
        return self.proj(cache.mean(1)), cache

    def forward(self, x):
        return self.proj(x.cumsum(1) / torch.arange(1, x.shape[1] + 1)[None, :, None])


class FenwickLike(nn.Module):
    """A state of popcount(t) blocks: not monotone, largest just before powers of two."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.d = d_model

    def init_state(self, batch: int):
        return {"blocks": torch.zeros(batch, 0, self.d), "t": 0}

    def step(self, x, state):
        t = state["t"] + 1
        blocks = torch.zeros(x.shape[0], bin(t).count("1"), self.d) + x[:, None]
        return blocks.sum(1), {"blocks": blocks, "t": t}

    def forward(self, x):
        counts = torch.tensor([bin(t).count("1") for t in range(1, x.shape[1] + 1)], dtype=x.dtype)
        return x * counts[None, :, None]


def test_constant_model_is_efficient_and_compact():
    from ema_layer import EMALayer  # type: ignore[import-not-found]

    result = probe_module(EMALayer(8), label="ema", d_model=8, lengths=LENGTHS, repeats=3)
    assert result.fit["state"].growth == "constant" and result.fit["compute"].growth == "constant"
    assert result.classification["placement"] == "EC"
    assert all(m.state_scalars == 8 for m in result.measurements)


def test_growing_cache_is_neither():
    result = probe_module(GrowingCache(8), label="cache", d_model=8, lengths=LENGTHS, repeats=3)
    assert [m.state_scalars for m in result.measurements] == [8 * t for t in LENGTHS]
    assert result.fit["state"].growth == "linear" and result.fit["compute"].growth == "linear"
    assert result.classification["efficient"] is False and result.classification["compact"] is False


def test_non_monotone_state_records_the_largest_over_positions():
    result = probe_module(FenwickLike(4), label="fenwick", d_model=4, lengths=LENGTHS, repeats=3)
    # At T = 2^k the state has one block, but at 2^k - 1 it had k.
    assert [m.state_scalars for m in result.measurements] == [4] * 5
    assert [m.max_state_scalars for m in result.measurements] == [4 * k for k in (4, 5, 6, 7, 8)]
    assert result.fit["state"].growth == "polylog"
    assert result.classification["compact"] is False


def test_module_loading_errors_are_one_line(tmp_path):
    with pytest.raises(ArchclassError, match="expected path/to/file.py:ClassName"):
        load_module_class("nocolon")
    with pytest.raises(ArchclassError, match="no such file"):
        load_module_class(str(tmp_path / "missing.py") + ":X")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ArchclassError, match="importing .* failed: RuntimeError: boom"):
        load_module_class(f"{broken}:X")
    fine = tmp_path / "fine.py"
    fine.write_text("class X: pass\n")
    with pytest.raises(ArchclassError, match="defines no 'Y'"):
        load_module_class(f"{fine}:Y")


def test_cli_probes_the_readme_example_module():
    import json

    result = run_cli(
        "probe",
        "--module",
        f"{ROOT}/examples/ema_layer.py:EMALayer",
        "--kw",
        "d_model=16",
        "--lengths",
        "16,32,64,128",
        "--json",
        "--no-store",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["classification"]["placement"] == "EC"
    assert {"length", "state_scalars", "state_bytes", "step_flops", "step_bytes", "step_seconds"} <= set(
        data["measurements"][0]
    )
    assert {"state", "compute", "time"} <= set(data["fit"])


def test_cli_rejects_a_module_that_is_not_an_osp(tmp_path):
    path = tmp_path / "not_osp.py"
    path.write_text(
        "import torch\nclass Plain(torch.nn.Module):\n    def __init__(self, d_model):\n        super().__init__()\n"
    )
    result = run_cli("probe", "--module", f"{path}:Plain", "--kw", "d_model=8", "--no-store")
    assert result.returncode == 1 and "does not follow the OSP interface" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_probe_arch_checks_the_registry():
    import json

    result = run_cli("probe", "--arch", "retnet", "--lengths", "16,32,64", "--json", "--no-store")
    data = json.loads(result.stdout)
    assert data["registry"]["id"] == "retnet" and data["registry"]["agrees_all"] is True
    assert data["registry"]["state_formula"]["agrees"] is True


def test_readme_shows_the_example_module_exactly():
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / "examples" / "ema_layer.py").read_text()
    assert f"```python\n{example}```" in readme
    assert len(example.splitlines()) <= 30


def test_claims_check_every_reference_agrees_with_the_registry():
    """`probe --all` at small lengths: measured E and C, and the exact state formulas, match the registry;
    a formula that cannot be checked says why (the entries that have none), none is skipped silently."""
    import json

    result = run_cli(
        "probe", "--all", "--lengths", "64,128,256,512,1024", "--repeats", "2", "--json", "--no-store", timeout=1500
    )
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads(result.stdout)
    assert len(results) >= 30
    unchecked = {}
    for probe in results:
        assert probe["registry"] is not None, probe["target"]
        assert probe["registry"]["agrees_all"], (probe["target"], probe["registry"])
        formula = probe["registry"]["state_formula"]
        if formula["checked"]:
            assert formula["agrees"], (probe["target"], formula)
        else:
            unchecked[probe["target"]] = formula["reason"]
            assert any(note.startswith("state formula not checked") for note in probe["notes"])
    assert unchecked == {
        "log-linear-attention": "registry entry log-linear-attention gives no exact state_scalars formula",
        "native-sparse-attention": "registry entry native-sparse-attention gives no exact state_scalars formula",
    }


def test_a_cache_updated_in_place_is_measured_at_its_true_size():
    from .stand_ins import InPlaceCacheAttention

    result = probe_module(InPlaceCacheAttention(8, n_layers=2), label="cache", d_model=8, lengths=LENGTHS, repeats=3)
    # Counting and timing call step many times; each call must get its own copy, or the cache grows.
    assert [m.state_scalars for m in result.measurements] == [2 * 2 * 8 * t for t in LENGTHS]
    assert [m.max_state_scalars for m in result.measurements] == [2 * 2 * 8 * t for t in LENGTHS]
    assert result.modifies_input is True
    assert any("modifies the state it is given in place" in note for note in result.notes)
    assert result.fit["state"].growth == "linear" and result.classification["compact"] is False


def test_a_dataclass_state_updated_in_place_is_constant_and_noted():
    from .stand_ins import InPlaceDecay

    result = probe_module(InPlaceDecay(8), label="decay", d_model=8, lengths=LENGTHS, repeats=3)
    assert all(m.state_scalars == 8 for m in result.measurements)
    assert result.modifies_input is True and result.classification["placement"] == "EC"


def test_a_module_that_leaves_its_input_alone_says_so():
    result = probe_module(GrowingCache(8), label="cache", d_model=8, lengths=LENGTHS, repeats=2)
    assert result.modifies_input is False
    assert "step leaves the state it is given unchanged" in result.notes


def test_a_preallocated_buffer_counts_only_its_filled_part():
    from .stand_ins import StaticCacheMean

    result = probe_module(StaticCacheMean(8, capacity=1024), label="static", d_model=8, lengths=LENGTHS, repeats=2)
    assert [m.state_scalars for m in result.measurements] == [8 * t for t in LENGTHS]
    assert result.fit["state"].growth == "linear" and result.classification["compact"] is False
    assert any("preallocated buffer of 1024 slots along axis 1" in note and ".length" in note for note in result.notes)


def test_a_preallocated_buffer_without_a_length_is_refused():
    from .stand_ins import StaticCacheMean

    with pytest.raises(ArchclassError, match=r"\.data is a preallocated buffer .* cannot be known \(a static cache\)"):
        probe_module(StaticCacheMean(8, capacity=1024, counted=False), label="s", d_model=8, lengths=LENGTHS)


def test_a_cost_that_peaks_between_the_lengths_is_counted():
    from .stand_ins import CarryChain

    lengths = [137, 265, 521, 1033, 2057]  # none of them just after a power of two
    result = probe_module(CarryChain(4), label="carries", d_model=4, lengths=lengths, repeats=1)
    assert result.cost_positions["rule"] == "every position"
    # The largest carry chain before T = 137 is at t = 127 (7 products), ..., before 2057 at 2047 (11).
    flops_per_product = 2 * 4 * 4
    base = result.measurements[0].max_step_flops - 7 * flops_per_product
    assert [m.max_step_flops for m in result.measurements] == [base + k * flops_per_product for k in (7, 8, 9, 10, 11)]
    assert result.fit["compute"].growth == "polylog" and result.classification["efficient"] is False
    assert result.fit["state"].growth == "constant"


def test_beyond_the_count_budget_seeded_positions_across_the_range_are_counted():
    from archclass.probe.runner import CostScan

    from .stand_ins import CarryChain

    lengths = [128, 256, 512, 1024, 2048]
    result = probe_module(
        CarryChain(4, busy=(600, 900)), label="busy", d_model=4, lengths=lengths, repeats=1, scan=CostScan(budget=200)
    )
    assert "count budget of 200 operations" in result.cost_positions["rule"]
    counted = result.cost_positions["positions"]
    assert "seeded positions spread log-uniformly" in result.cost_positions["rule"]
    assert result.cost_positions["count"] == len(counted) + counted[0]
    assert all(p in counted for p in range(2040, 2049))  # the window before a length
    assert any(600 <= p < 900 for p in counted)  # a sampled position in the busy stretch, between lengths
    flops = [m.max_step_flops for m in result.measurements]
    assert flops[3] > flops[2] and flops[4] == flops[3]  # seen at 1024 and kept as the running maximum


def test_lengths_spanning_too_little_are_flagged():
    from ema_layer import EMALayer  # type: ignore[import-not-found]

    result = probe_module(EMALayer(8), label="ema", d_model=8, lengths=[1000, 1100, 1300], repeats=1)
    assert result.length_grid == {"points": 3, "span": 1.3, "too_narrow": True}
    assert any("span 1.3x in 3 points" in note for note in result.notes)
    wide = probe_module(EMALayer(8), label="ema", d_model=8, lengths=[16, 32, 64, 128], repeats=1)
    assert wide.length_grid["too_narrow"] is False
