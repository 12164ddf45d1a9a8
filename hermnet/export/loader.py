"""Load an exported model in Python: metadata checks, evaluation and the self-check."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from hermnet.data.neighbors import build_graph
from hermnet.export import keys
from hermnet.export.errors import ModelFileError
from hermnet.export.selfcheck import SelfCheckResult, compare

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _metadata_entry(names: list[str]) -> str | None:
    suffix = "/extra/" + keys.METADATA_FILE
    return next((name for name in names if name.endswith(suffix)), None)


def is_exported_model(path: str | os.PathLike) -> bool:
    """True when `path` is a TorchScript archive carrying HermNet metadata."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _metadata_entry(archive.namelist()) is not None
    except (OSError, zipfile.BadZipFile):
        return False


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata of an exported model, validated, without loading the model."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path} does not exist")
    try:
        with zipfile.ZipFile(path) as archive:
            entry = _metadata_entry(archive.namelist())
            raw = None if entry is None else archive.read(entry)
    except (OSError, zipfile.BadZipFile) as err:
        raise ModelFileError(
            f"{path} is not a TorchScript archive (it may be truncated, or not a model file): {err}"
        ) from err
    if raw is None:
        raise ModelFileError(
            f"{path} is not an exported HermNet model: it has no {keys.METADATA_FILE}; create "
            "one from a training checkpoint with `hermnet export CHECKPOINT -o model.pt`"
        )
    try:
        meta = json.loads(raw)
    except ValueError as err:
        raise ModelFileError(f"{path}: {keys.METADATA_FILE} is not valid JSON ({err})") from err
    validate_metadata(meta, str(path))
    return meta


def validate_metadata(meta: object, where: str) -> None:
    if not isinstance(meta, dict) or meta.get(keys.METADATA_FORMAT) != keys.FORMAT_NAME:
        raise ModelFileError(f"{where} is not an exported HermNet model (wrong format name)")
    version = meta.get(keys.METADATA_FORMAT_VERSION)
    if not isinstance(version, int):
        raise ModelFileError(f"{where}: metadata has no integer {keys.METADATA_FORMAT_VERSION}")
    if version > keys.FORMAT_VERSION:
        raise ModelFileError(
            f"{where} has model format version {version}, newer than this hermnet supports "
            f"({keys.FORMAT_VERSION}); upgrade hermnet to load it"
        )
    missing = [k for k in keys.REQUIRED_METADATA if k not in meta]
    missing += [
        f"{keys.METADATA_SELF_CHECK}.{k}"
        for k in keys.CHECK_KEYS
        if k not in (meta.get(keys.METADATA_SELF_CHECK) or {})
    ]
    if missing:
        raise ModelFileError(f"{where}: metadata is missing {missing}; re-export the model")


class ExportedModel:
    """An exported HermNet model in Python (TorchScript), with the same API as the C++ core."""

    def __init__(self, path: str | os.PathLike, device: str = "cpu") -> None:
        self.path = Path(path)
        self.metadata = read_metadata(self.path)
        self.device = torch.device(device)
        if self.metadata.get(keys.METADATA_FUSED_EDGES):
            from hermnet.nn.fused import load_fused_ops

            load_fused_ops()
        try:
            self.module = torch.jit.load(str(self.path), map_location=self.device)
        except RuntimeError as err:
            raise ModelFileError(
                f"{self.path}: TorchScript could not load the model: {err}"
            ) from err
        self.module.eval()
        self.dtype = _DTYPES[self.metadata[keys.METADATA_DTYPE]]
        self.elements: list[str] = list(self.metadata[keys.METADATA_ELEMENTS])
        self.atomic_numbers: list[int] = list(self.metadata[keys.METADATA_ATOMIC_NUMBERS])
        self.cutoff = float(self.metadata[keys.METADATA_CUTOFF])

    def types(self, numbers) -> np.ndarray:
        index = {z: i for i, z in enumerate(self.atomic_numbers)}
        unknown = sorted({int(z) for z in numbers} - set(index))
        if unknown:
            raise ValueError(
                f"atomic numbers {unknown} are not among the model's elements {self.elements}"
            )
        return np.array([index[int(z)] for z in numbers], dtype=np.int64)

    def compute(
        self,
        positions,
        types,
        edge_index,
        edge_shift,
        n_local: int | None = None,
        compute_forces: bool = True,
        compute_virial: bool = False,
        compute_atomic_virial: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Run the module on one graph; outputs as detached tensors (see keys.OUTPUTS)."""
        dev, dt = self.device, self.dtype
        positions = torch.as_tensor(np.asarray(positions), dtype=dt, device=dev)
        n_local = positions.shape[0] if n_local is None else int(n_local)
        out = self.module(
            positions,
            torch.as_tensor(np.asarray(types), dtype=torch.long, device=dev),
            torch.as_tensor(np.asarray(edge_index), dtype=torch.long, device=dev),
            torch.as_tensor(np.asarray(edge_shift), dtype=dt, device=dev),
            n_local,
            compute_forces,
            compute_virial,
            compute_atomic_virial,
        )
        return {key: value.detach() for key, value in out.items()}

    def evaluate(self, positions, numbers, cell, pbc, **flags) -> dict[str, torch.Tensor]:
        """Build the graph (hermnet.data.build_graph) and compute: a whole structure."""
        edge_index, edge_shift = build_graph(positions, cell, pbc, self.cutoff)
        return self.compute(positions, self.types(numbers), edge_index, edge_shift, **flags)

    def self_check(self) -> SelfCheckResult:
        check = self.metadata[keys.METADATA_SELF_CHECK]
        positions = np.asarray(check[keys.CHECK_POSITIONS], dtype=np.float64).reshape(-1, 3)
        edge_index, edge_shift = build_graph(
            positions,
            np.asarray(check[keys.CHECK_CELL]),
            np.asarray(check[keys.CHECK_PBC]),
            self.cutoff,
        )
        out = self.compute(
            positions, check[keys.CHECK_TYPES], edge_index, edge_shift, compute_virial=True
        )
        return compare(check, {k: v.cpu().double().numpy() for k, v in out.items()})


def load_exported(path: str | os.PathLike, device: str = "cpu") -> ExportedModel:
    return ExportedModel(path, device)
