"""Checkpoint -> self-describing TorchScript file (see hermnet.export.keys for the contract)."""

from __future__ import annotations

import io
import json
import os
from importlib import metadata as importlib_metadata

import numpy as np
import torch

from hermnet.data.structure import Structure
from hermnet.export import keys
from hermnet.export.errors import ExportError
from hermnet.export.module import DeployedHermNet
from hermnet.export.selfcheck import TOLERANCES
from hermnet.files import atomic_path
from hermnet.model import ModelConfig, build_model
from hermnet.model.potential import HermNetPotential, evaluate_structure
from hermnet.nn.fused import fuse_layers

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def hermnet_version() -> str:
    try:
        return importlib_metadata.version("hermnet")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def check_local(config: ModelConfig) -> None:
    if not config.is_local:
        raise ExportError(
            f"this model uses readout={config.readout!r}: its energy is MLP(sum_i s_i) over the "
            "whole structure, so it has no per-atom energies and cannot be split over ghost "
            "atoms or MPI domains. Export needs a local model: train with "
            "`model: {readout: atomic}` (the default) instead."
        )


def export_potential(
    potential: HermNetPotential,
    config: ModelConfig,
    path: str | os.PathLike,
    frame: Structure,
    dtype: str | None = None,
    training_data: str = "unknown",
    tf32: bool = False,
    fused: bool = True,
) -> dict:
    """Script, save and verify; returns the metadata written into `path`.

    frame: the self-check structure (a small training structure). dtype: float32 or
    float64, default the model's own. tf32: let GPU engines run the float32 matrix products
    in TF32 (stored in the metadata; the self-check here runs without it). fused: call the
    C++ core's fused edge operators (hermnet.nn.fused) instead of torch operator chains;
    the self-check then compares them with the eager (unfused) Python model. Raises
    ExportError for non-local models, a frame with unknown elements, or a self-check that
    fails after saving.
    """
    check_local(config)
    dtype = dtype or config.dtype
    if dtype not in DTYPES:
        raise ExportError(f"--dtype must be one of {list(DTYPES)}, got {dtype!r}")
    if tf32 and dtype != "float32":
        raise ExportError("--tf32 applies to float32 models; export with --dtype float32")
    config = ModelConfig(**{**config.to_dict(), "dtype": dtype})
    deployed_potential = build_model(config)
    deployed_potential.load_state_dict(potential.state_dict())
    deployed_potential = deployed_potential.cpu().eval()
    if fused:
        fuse_layers(deployed_potential.model)

    scripted = torch.jit.script(DeployedHermNet(deployed_potential.model))
    meta = build_metadata(deployed_potential, config, frame, training_data)
    meta[keys.METADATA_NUM_PARAMETERS] = sum(p.numel() for p in scripted.parameters())
    meta[keys.METADATA_TF32] = bool(tf32)
    meta[keys.METADATA_FUSED_EDGES] = bool(fused)
    # Serialised in memory, then staged next to `path` and renamed over it only after its
    # self-check passed: a full disk or read-only folder (WriteError) or a failed check
    # leaves the previous model intact. (torch's own file writer aborts the process on a
    # full disk, so it never touches the target.)
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer, _extra_files={keys.METADATA_FILE: json.dumps(meta)})

    from hermnet.export.loader import load_exported  # the file as every engine will see it

    with atomic_path(path) as staged:
        staged.write_bytes(buffer.getvalue())
        result = load_exported(staged).self_check()
        if not result.passed:
            raise ExportError(
                f"{path}: the exported model disagrees with Python; {result.report()} "
                "(nothing was written)"
            )
    return meta


def build_metadata(
    potential: HermNetPotential, config: ModelConfig, frame: Structure, training_data: str
) -> dict:
    return {
        keys.METADATA_FORMAT: keys.FORMAT_NAME,
        keys.METADATA_FORMAT_VERSION: keys.FORMAT_VERSION,
        keys.METADATA_HERMNET_VERSION: hermnet_version(),
        keys.METADATA_TORCH_VERSION: torch.__version__,
        keys.METADATA_ELEMENTS: list(config.elements),
        keys.METADATA_ATOMIC_NUMBERS: list(config.atomic_numbers),
        keys.METADATA_CUTOFF: float(config.cutoff),
        keys.METADATA_NUM_HOPS: config.num_hops,
        keys.METADATA_RECEPTIVE_FIELD: float(config.receptive_field),
        keys.METADATA_VARIANT: config.variant,
        keys.METADATA_DTYPE: config.dtype,
        keys.METADATA_UNITS: {"energy": "eV", "length": "Å"},
        keys.METADATA_NUM_PARAMETERS: sum(p.numel() for p in potential.parameters()),
        keys.METADATA_TRAINING_DATA: training_data,
        keys.METADATA_MODEL_CONFIG: config.to_dict(),
        keys.METADATA_SELF_CHECK: self_check_frame(potential, config, frame),
        keys.METADATA_HOP_INTERFACE: keys.HOP_INTERFACE_VERSION,
    }


def self_check_frame(potential: HermNetPotential, config: ModelConfig, frame: Structure) -> dict:
    """The frame and the eager Python model's outputs for it, in the export dtype."""
    frame.validate()
    index = {z: i for i, z in enumerate(config.atomic_numbers)}
    unknown = sorted({int(z) for z in frame.numbers} - set(index))
    if unknown:
        raise ExportError(
            f"self-check frame {frame.source} contains atomic numbers {unknown} that the model "
            f"(elements {config.elements}) does not know; pick a frame from the training data"
        )
    types = np.array([index[int(z)] for z in frame.numbers], dtype=np.int64)
    out = evaluate_structure(
        potential, frame.positions, types, frame.cell, frame.pbc, compute_virial=True
    )

    def plain(x: torch.Tensor) -> list:
        return x.detach().double().tolist()

    return {
        keys.CHECK_SOURCE: frame.source,
        keys.CHECK_POSITIONS: frame.positions.tolist(),
        keys.CHECK_TYPES: types.tolist(),
        keys.CHECK_CELL: frame.cell.tolist(),
        keys.CHECK_PBC: [bool(p) for p in frame.pbc],
        keys.CHECK_ENERGY: float(out[keys.ENERGY].detach()[0]),
        keys.CHECK_ATOMIC_ENERGY: plain(out[keys.ATOMIC_ENERGY]),
        keys.CHECK_FORCES: plain(out[keys.FORCES]),
        keys.CHECK_VIRIAL: plain(out[keys.VIRIAL][0]),
        **TOLERANCES[config.dtype],
    }


def training_frame(payload: dict, frame_path: str | None = None) -> Structure:
    """The self-check structure: `frame_path`'s smallest structure, else the training data's."""
    from hermnet.data import DataError, read_any, read_many

    if frame_path is not None:
        try:
            structures = read_any(frame_path, require_energy=False, require_forces=False)
        except (DataError, OSError) as err:
            raise ExportError(f"--frame {frame_path} could not be read: {err}") from err
        return min(structures, key=len)
    train = ((payload.get("config") or {}).get("data") or {}).get("train")
    if not train:
        raise ExportError(
            "the checkpoint does not record its training data, so no self-check frame can be "
            "taken from it; pass --frame FILE with a small structure of the model's elements"
        )
    try:
        structures = read_many(train, require_energy=False, require_forces=False)
    except (DataError, OSError) as err:
        raise ExportError(
            f"the training data {train} are not readable here ({err}); pass --frame FILE with a "
            "small structure of the model's elements"
        ) from err
    return min(structures, key=len)


def export_checkpoint(
    checkpoint: str | os.PathLike,
    output: str | os.PathLike,
    dtype: str | None = None,
    frame: str | None = None,
    tf32: bool = False,
    fused: bool = True,
) -> dict:
    """`hermnet export`: checkpoint (EMA weights when present) -> TorchScript file."""
    from hermnet.model.checkpoint import load_checkpoint, load_potential

    payload = load_checkpoint(checkpoint)
    check_local(ModelConfig.from_saved(payload["model_config"]))
    potential, config, payload = load_potential(checkpoint)
    description = payload.get("data_description") or _describe_data(payload)
    return export_potential(
        potential, config, output, training_frame(payload, frame), dtype, description, tf32, fused
    )


def _describe_data(payload: dict) -> str:
    data = (payload.get("config") or {}).get("data") or {}
    return f"train: {data['train']}" if data.get("train") else "unknown"
