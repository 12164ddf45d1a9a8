"""Checkpoint files: written atomically, loaded with a clear error when they are not ours.

A checkpoint is a torch.save'd dict:
  format: "hermnet-checkpoint", version: int,
  model_config: ModelConfig.to_dict(),
  model_state: state_dict of the HermNetPotential (raw weights),
  ema_state: state_dict with EMA weights, or None (inference prefers it),
  plus whatever the trainer adds (optimizer, scheduler, epoch, rng, metrics, config,
  data_description).
"""

import os
import tempfile
from pathlib import Path

import torch

from hermnet.model.config import ModelConfig

FORMAT = "hermnet-checkpoint"
VERSION = 1


class CheckpointError(RuntimeError):
    pass


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over `path`.

    A crash at any moment leaves either the old file or the new one, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, **payload}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | os.PathLike, map_location: str = "cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist; pass the path of a best.pt or last.pt"
        )
    try:
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # torch raises many types for a damaged file
        raise CheckpointError(
            f"{path} could not be read as a HermNet checkpoint ({type(err).__name__}: {err}); "
            "it may be truncated or not a checkpoint"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a HermNet training checkpoint (an exported model.pt is loaded "
            "with hermnet.export instead)"
        )
    if payload.get("version", 0) > VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {payload['version']}, newer than this hermnet "
            f"understands ({VERSION}); upgrade hermnet"
        )
    return payload


def load_potential(path: str | os.PathLike, device: str = "cpu", use_ema: bool = True):
    """(HermNetPotential in eval mode, ModelConfig, checkpoint dict) from a checkpoint."""
    from hermnet.model import build_model

    payload = load_checkpoint(path)
    config = ModelConfig(**payload["model_config"])
    potential = build_model(config)
    state = payload.get("ema_state") if use_ema else None
    potential.load_state_dict(state if state is not None else payload["model_state"])
    potential.to(device).eval()
    # Inference differentiates with respect to edge vectors only.
    potential.requires_grad_(False)
    return potential, config, payload
