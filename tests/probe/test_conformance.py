"""Broken modules are refused with one line that says what is wrong, never measured and stored as EC."""

from __future__ import annotations

import textwrap

import pytest

torch = pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")

from torch import nn  # noqa: E402

from archclass.errors import ArchclassError  # noqa: E402
from archclass.probe.runner import probe_module  # noqa: E402

from ..conftest import run_cli  # noqa: E402

LENGTHS = [16, 32, 64, 128]


class Decay(nn.Module):
    """A correct decaying sum; subclasses break one rule each."""

    def __init__(self, d_model: int = 4) -> None:
        super().__init__()
        self.d_model = d_model
        self.proj = nn.Linear(d_model, d_model)

    def init_state(self, batch):
        return {"h": self.proj.weight.new_zeros(batch, self.d_model)}

    def step(self, x, state):
        h = 0.5 * state["h"] + self.proj(x)
        return h, {"h": h}

    def forward(self, x):
        h, out = x.new_zeros(x.shape[0], self.d_model), []
        for t in range(x.shape[1]):
            h = 0.5 * h + self.proj(x[:, t])
            out.append(h)
        return torch.stack(out, 1)


class WrongShape(Decay):
    def step(self, x, state):
        h, new = super().step(x, state)
        return torch.cat([h, h[:, :1]], dim=-1), new


class NaNOutput(Decay):
    def step(self, x, state):
        h, new = super().step(x, state)
        return h * float("nan"), new


class InfState(Decay):
    def step(self, x, state):
        h, new = super().step(x, state)
        return h, {"h": new["h"] + float("inf")}


class StringState(Decay):
    def init_state(self, batch):
        return "empty"

    def step(self, x, state):
        return self.proj(x), "empty"


class NoneState(StringState):
    def init_state(self, batch):
        return None

    def step(self, x, state):
        return self.proj(x), None


class Shrinking(Decay):
    """Starts with 4,096 rows and drops one each step: its largest state is init_state's."""

    def init_state(self, batch):
        return {"rows": self.proj.weight.new_zeros(batch, 4096, self.d_model)}

    def step(self, x, state):
        return self.proj(x), {"rows": state["rows"][:, 1:]}

    def forward(self, x):
        return self.proj(x)


class Wrong(Decay):
    """Its step forgets faster than its forward: the OSP rule is broken."""

    def step(self, x, state):
        h = 0.25 * state["h"] + self.proj(x)
        return h, {"h": h}


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (WrongShape(), r"output of shape \(1, 5\); the OSP rule is y: \(batch, d_model\) = \(1, 4\)"),
        (NaNOutput(), "NaN or infinite outputs"),
        (InfState(), "state after token 0 holds NaN or infinite values in \\['h'\\]"),
        (StringState(), "holds no tensors \\(it is str\\)"),
        (NoneState(), "holds no tensors \\(it is NoneType\\)"),
        (Shrinking(), "the state shrinks as it reads: 16,384 scalars from init_state"),
        (Wrong(), "OSP rule broken: step applied from init_state must reproduce forward .* at token 1"),
    ],
)
def test_a_broken_module_is_refused_with_the_reason(module, message):
    with pytest.raises(ArchclassError, match=message):
        probe_module(module, label="m", d_model=4, lengths=LENGTHS, repeats=1)


def test_no_check_measures_a_module_whose_forward_disagrees():
    result = probe_module(Wrong(), label="m", d_model=4, lengths=LENGTHS, repeats=1, check=False)
    assert result.classification["placement"] == "EC"
    assert any("skipped (--no-check)" in note for note in result.notes)


def test_a_wrong_prefill_is_caught():
    class BadPrefill(Decay):
        def prefill(self, x):
            return self.forward(x), {"h": torch.zeros(x.shape[0], self.d_model)}

    with pytest.raises(ArchclassError, match="a step from prefill's state must equal a step from the stepped state"):
        probe_module(BadPrefill(), label="m", d_model=4, lengths=LENGTHS, repeats=1)


def test_a_wrong_prefill_state_is_caught():
    """prefill_state is what the probe reaches long lengths with, so it is held to prefill's rule."""

    class BadPrefillState(Decay):
        def prefill_state(self, x):
            return {"h": torch.ones(x.shape[0], self.d_model)}

    with pytest.raises(ArchclassError, match="a step from prefill_state's state must equal"):
        probe_module(BadPrefillState(), label="m", d_model=4, lengths=LENGTHS, repeats=1)


def _module_file(tmp_path, body: str) -> str:
    path = tmp_path / "layer.py"
    path.write_text(
        "import sys\nimport torch\nfrom torch import nn\n\n\n"
        "class Layer(nn.Module):\n"
        "    def __init__(self, d_model):\n"
        "        super().__init__()\n"
        "        self.proj = nn.Linear(d_model, d_model)\n\n"
        "    def init_state(self, batch):\n"
        "        return {'h': torch.zeros(batch, self.proj.in_features)}\n\n"
        "    def forward(self, x):\n"
        "        return self.proj(x)\n\n" + textwrap.indent(textwrap.dedent(body), "    ")
    )
    return f"{path}:Layer"


def test_sys_exit_inside_step_fails_the_command_with_a_line(tmp_path):
    target = _module_file(tmp_path, "def step(self, x, state):\n    sys.exit(0)\n")
    result = run_cli("probe", "--module", target, "--kw", "d_model=8", "--lengths", "8,16,32", "--no-store")
    assert result.returncode == 1
    assert "step at token 0 called sys.exit(0)" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (("--repeats", "0"), 2, "--repeats"),
        (("--kw", "d_model=abc"), 1, "d_model must be a positive integer, not 'abc'"),
        (("--kw", "d_model=0"), 1, "d_model must be a positive integer, not 0"),
        (("--kw", "nokey"), 2, "'nokey' is not KEY=VALUE"),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, arguments, code, message):
    target = _module_file(tmp_path, "def step(self, x, state):\n    return self.proj(x), state\n")
    result = run_cli("probe", "--module", target, "--kw", "d_model=8", *arguments, "--lengths", "8,16,32", "--no-store")
    assert result.returncode == code, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_width_of_zero_for_a_reference_is_a_usage_error():
    result = run_cli("probe", "--arch", "retnet", "--d-model", "0", "--no-store")
    assert result.returncode == 2 and "--d-model" in result.stderr


def test_lengths_that_cannot_fit_are_refused_before_allocating_with_the_estimate(tmp_path):
    target = _module_file(tmp_path, "def step(self, x, state):\n    return self.proj(x), state\n")
    result = run_cli(
        "probe", "--module", target, "--kw", "d_model=4096", "--lengths", "1000,10000,100000000", "--no-store",
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "probing to T = 100,000,000 needs about 3.3 TB (input 3.3 TB" in result.stderr
    assert "give shorter --lengths" in result.stderr
