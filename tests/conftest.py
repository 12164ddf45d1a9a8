import pytest

from hermnet.model.checkpoint import save_checkpoint
from tests.model.helpers import tiny_potential


@pytest.fixture
def checkpoint(tmp_path):
    """A checkpoint of a tiny float64 model over H, C, O, Cu (untrained weights)."""
    potential = tiny_potential("pair", cutoff=4.0)
    path = tmp_path / "best.pt"
    save_checkpoint(
        path,
        {
            "model_config": {**_config(potential)},
            "model_state": potential.state_dict(),
            "ema_state": None,
        },
    )
    return path, potential


def _config(potential):
    from hermnet.model import ModelConfig

    return ModelConfig(
        elements=["H", "C", "O", "Cu"],
        variant="pair",
        features=8,
        radial_basis=6,
        layers=2,
        cutoff=4.0,
        dtype="float64",
    ).to_dict()
