"""Checkpoint files: written atomically, loaded safely, with a clear error when not ours.

A checkpoint is a torch.save'd dict of tensors, numbers, strings, None and plain
containers (lists, tuples, dicts) only:
  format: "hermnet-checkpoint", version: int,
  model_config: ModelConfig.to_dict(),
  model_state: state_dict of the HermNetPotential (raw weights),
  ema_state: state_dict with EMA weights, or None (inference prefers it),
  plus whatever the trainer adds (optimizer, scheduler, epoch, rng, metrics, config,
  data_description).

Loading uses torch.load(weights_only=True): a pickle that names any other Python object
(which could run code while it is read) is refused before anything in it runs.
Checkpoints are the files people share, so no command loads them any other way.
"""

import os
import pickle
import re
from pathlib import Path

import numpy as np
import torch

from hermnet.files import torch_save
from hermnet.model.config import ModelConfig

FORMAT = "hermnet-checkpoint"
VERSION = 1

# Checkpoints written before the plain-types rule hold numpy's RNG state as a uint32
# array; these are the only globals such a pickle needs besides torch's own, and none of
# them can run code, so those files stay readable as they are.
_LEGACY_NUMPY_GLOBALS = [
    np.ndarray,
    np.dtype,
    type(np.dtype(np.uint32)),
    getattr(np, "_core", np.core).multiarray._reconstruct,
]


class CheckpointError(RuntimeError):
    pass


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over `path`.

    A crash at any moment leaves either the old file or the new one, never half of one;
    a full disk or read-only folder raises hermnet.files.WriteError.
    """
    torch_save({"format": FORMAT, "version": VERSION, **payload}, path)


def load_checkpoint(path: str | os.PathLike, map_location: str = "cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist; pass the path of a best.pt or last.pt"
        )
    _refuse_exported_model(path)
    try:
        with torch.serialization.safe_globals(_LEGACY_NUMPY_GLOBALS):
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(_unsafe_message(path, err)) from err
    except Exception as err:  # torch raises many types for a damaged file
        raise CheckpointError(
            f"{path} could not be read as a HermNet checkpoint ({type(err).__name__}: "
            f"{_first_line(err)}); it may be truncated or not a checkpoint"
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


def _refuse_exported_model(path: Path) -> None:
    """An exported model is a TorchScript archive: say so in one line, not its source."""
    from hermnet.export.loader import is_exported_model

    if is_exported_model(path):
        raise CheckpointError(
            f"{path} is an exported model (from `hermnet export`), not a training checkpoint; "
            "`hermnet evaluate`, `hermnet info`, HermNetCalculator and LAMMPS take it as it "
            "is, while export, --resume and training.init_from need the run's best.pt or last.pt"
        )


def _unsafe_message(path: Path, err: Exception) -> str:
    found = re.search(r"GLOBAL ([\w.]+)", str(err))
    detail = f"it names {found.group(1)}" if found else _first_line(err)
    return (
        f"{path} is refused: it holds Python objects other than tensors, numbers, strings "
        f"and plain containers ({detail}), and loading such objects can run arbitrary code; "
        "hermnet checkpoints never contain them. If you wrote this file yourself and trust "
        "it, convert it once with `python -m hermnet.model.convert_checkpoint "
        f"{path} --trust`"
    )


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def load_potential(path: str | os.PathLike, device: str = "cpu", use_ema: bool = True):
    """(HermNetPotential in eval mode, ModelConfig, checkpoint dict) from a checkpoint."""
    from hermnet.model import build_model

    payload = load_checkpoint(path)
    config = ModelConfig.from_saved(payload["model_config"])
    potential = build_model(config)
    state = payload.get("ema_state") if use_ema else None
    potential.load_state_dict(state if state is not None else payload["model_state"])
    potential.to(device).eval()
    # Inference differentiates with respect to edge vectors only.
    potential.requires_grad_(False)
    return potential, config, payload
