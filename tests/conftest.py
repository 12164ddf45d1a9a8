import pytest

from hermnet.model.checkpoint import save_checkpoint
from tests.model.helpers import tiny_config, tiny_potential


@pytest.fixture
def checkpoint(tmp_path):
    """A checkpoint of a tiny float64 model over H, C, O, Cu (untrained weights)."""
    potential = tiny_potential("pair", cutoff=4.0)
    path = tmp_path / "best.pt"
    save_checkpoint(
        path,
        {
            "model_config": tiny_config("pair", cutoff=4.0).to_dict(),
            "model_state": potential.state_dict(),
            "ema_state": None,
        },
    )
    return path, potential
