"""Checkpoints load with weights_only=True: a crafted pickle is refused and runs nothing."""

import random

import numpy as np
import pytest
import torch

from hermnet.calculators import HermNetCalculator
from hermnet.cli.main import main
from hermnet.model.checkpoint import FORMAT, CheckpointError, load_checkpoint
from hermnet.model.convert_checkpoint import main as convert_main
from hermnet.train.state import rng_state, set_rng_state


class _Payload:
    """Unpickling this object creates `marker`: the stand-in for any shell command."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def malicious(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "best.pt"
    torch.save({"format": FORMAT, "version": 1, "model_config": _Payload(marker)}, path)
    assert not marker.exists()
    return path, marker


def test_loading_refuses_and_runs_nothing(malicious):
    path, marker = malicious
    with pytest.raises(CheckpointError, match=r"is refused.*it names io\.open.*arbitrary code"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("command", ["export", "evaluate"])
def test_cli_commands_refuse_in_one_line(malicious, tmp_path, capsys, command):
    path, marker = malicious
    extra = ["-o", str(tmp_path / "model.pt")] if command == "export" else [str(path)]
    assert main([command, str(path), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hermnet: error:") and err.count("\n") == 1, err
    assert "is refused" in err
    assert not marker.exists()


def test_calculator_refuses(malicious):
    path, marker = malicious
    with pytest.raises(CheckpointError, match="is refused"):
        HermNetCalculator(model=path)
    assert not marker.exists()


def test_conversion_needs_trust_and_then_loads(checkpoint, tmp_path):
    """A trusted old checkpoint with a numpy array elsewhere is converted once."""
    path, _ = checkpoint
    payload = torch.load(path, weights_only=True)
    payload["extra"] = np.arange(3.0)
    payload["note"] = np.float64(1.5)
    old = tmp_path / "old.pt"
    torch.save(payload, old)
    with pytest.raises(CheckpointError, match="convert_checkpoint"):
        load_checkpoint(old)
    with pytest.raises(SystemExit):
        convert_main([str(old)])  # without --trust
    assert convert_main([str(old), "--trust", "-o", str(tmp_path / "new.pt")]) == 0
    new = load_checkpoint(tmp_path / "new.pt")
    assert torch.equal(new["extra"], torch.arange(3.0, dtype=torch.float64))
    assert new["note"] == 1.5


def test_rng_state_is_plain_and_restores_every_generator():
    generator = torch.Generator().manual_seed(3)
    state = rng_state(generator)
    assert torch.is_tensor(state["numpy"]["key"])
    expected = (
        torch.rand(2),
        np.random.rand(2),
        random.random(),
        torch.rand(2, generator=generator),
    )
    set_rng_state(state, generator)
    again = (torch.rand(2), np.random.rand(2), random.random(), torch.rand(2, generator=generator))
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1])
    assert expected[2] == again[2] and torch.equal(expected[3], again[3])


def test_checkpoints_with_numpy_rng_state_stay_readable(checkpoint, tmp_path):
    """Before the plain-types rule the numpy RNG state was numpy's own tuple."""
    path, _ = checkpoint
    payload = torch.load(path, weights_only=True)
    state = rng_state()
    state["numpy"] = np.random.get_state()
    payload["rng"] = state
    old = tmp_path / "old_rng.pt"
    torch.save(payload, old)
    loaded = load_checkpoint(old)
    expected = np.random.rand(3)
    set_rng_state(loaded["rng"])
    np.testing.assert_array_equal(np.random.rand(3), expected)
