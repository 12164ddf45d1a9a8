"""Committees of tiny models: checkpoints of two seeds, and misfits for the refusals."""

import pytest

from hermnet.model.checkpoint import save_checkpoint
from tests.model.helpers import tiny_config, tiny_potential


def save_tiny(path, seed: int = 0, **overrides):
    """A checkpoint of an untrained tiny float64 model (the seed sets its weights)."""
    options = {"cutoff": 4.0, **overrides}
    potential = tiny_potential("pair", seed=seed, **options)
    payload = {
        "model_config": tiny_config("pair", **options).to_dict(),
        "model_state": potential.state_dict(),
        "ema_state": None,
    }
    save_checkpoint(path, payload)
    return path, potential


@pytest.fixture
def pair_of_models(tmp_path):
    """[(path, potential), (path, potential)]: the same architecture, seeds 0 and 1."""
    return [save_tiny(tmp_path / f"m{seed}.pt", seed) for seed in (0, 1)]
