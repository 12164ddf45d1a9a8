"""Fixtures for the training tests: shared data and a tiny, fast training config."""

import os
from pathlib import Path

import pytest
import torch
import yaml

_DEFAULT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
ETHANOL = "rmd17/rmd17_ethanol_train_01.npz"


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """One intra-op thread here and in subprocesses: the models are tiny, and on a busy
    2-core machine two spinning threads per process are up to 10x slower."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def ethanol_file() -> Path:
    """rMD17 ethanol (HERMNET_SHARED_DATA overrides the folder); skip the test if absent."""
    root = Path(os.environ.get("HERMNET_SHARED_DATA", _DEFAULT)).resolve()
    path = root / ETHANOL
    if not path.is_file():
        pytest.skip(f"shared reference data not found at {path}; set HERMNET_SHARED_DATA")
    return path


def tiny_config(data_file: Path, output: str = "run", **training) -> dict:
    """100 ethanol frames (+ 20 for validation), a float64 model with ~5k weights."""
    options = {
        "epochs": 3,
        "batch_size": 10,
        "learning_rate": 3.0e-3,
        "warmup_epochs": 0.5,
        "seed": 0,
        "tensorboard": False,
    }
    options.update(training)
    return {
        "model": {
            "elements": ["H", "C", "O"],
            "cutoff": 4.0,
            "features": 16,
            "radial_basis": 8,
            "layers": 2,
            "dtype": "float64",
        },
        "data": {
            "train": [str(data_file)],
            "validation_fraction": 0.2,
            "max_train": 100,
            "max_validation": 20,
        },
        "training": options,
        "output": output,
    }


def write_config(folder: Path, config: dict, name: str = "cfg.yaml") -> Path:
    path = Path(folder) / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture
def make_config(tmp_path, ethanol_file):
    """make_config(**training_overrides) -> path of a tiny config in tmp_path."""

    def make(name: str = "cfg.yaml", output: str = "run", **training) -> Path:
        return write_config(tmp_path, tiny_config(ethanol_file, output, **training), name)

    return make
