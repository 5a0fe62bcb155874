from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from archclass.errors import ArchclassError  # noqa: E402
from archclass.probe.runner import load_module_class, probe_module  # noqa: E402

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
        raise NotImplementedError


def test_constant_model_is_efficient_and_compact():
    from examples_path import EMALayer  # type: ignore[import-not-found]

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
    """`probe --all` at small lengths: measured E and C, and the exact state formulas, match the registry."""
    import json

    result = run_cli(
        "probe", "--all", "--lengths", "64,128,256,512,1024", "--repeats", "2", "--json", "--no-store", timeout=900
    )
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads(result.stdout)
    assert len(results) >= 24
    for probe in results:
        assert probe["registry"] is not None, probe["target"]
        assert probe["registry"]["agrees_all"], (probe["target"], probe["registry"])
        formula = probe["registry"].get("state_formula")
        if formula:
            assert formula.get("agrees"), (probe["target"], formula)
