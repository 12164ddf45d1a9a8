"""The C++ inference core for Python (the private extension hermnet._core, re-exported here).

torch is imported first: the extension links libtorch and finds it already loaded (its
RPATH, $ORIGIN/../torch/lib, is the fallback).
"""

from __future__ import annotations

import json
import os

import numpy as np
import torch  # noqa: F401  (loads libtorch before the extension)

try:
    from hermnet._core import FORMAT_VERSION, Model, ModelError, neighbor_list
except ImportError as err:  # pragma: no cover - depends on the installation
    raise ImportError(
        "hermnet._core, the C++ core, is not built in this installation; reinstall with "
        "`pip install --no-build-isolation -e .` (needs cmake, ninja, pybind11 and torch)"
    ) from err

__all__ = ["FORMAT_VERSION", "CoreModel", "Model", "ModelError", "load_core", "neighbor_list"]


class CoreModel:
    """hermnet._core.Model plus the parsed metadata and whole-structure evaluation."""

    def __init__(self, path: str | os.PathLike, device: str = "cpu") -> None:
        self.core = Model(str(path), device)
        self.metadata: dict = json.loads(self.core.metadata_json)
        self.cutoff = self.core.cutoff
        self.elements = list(self.core.elements)

    def types(self, numbers) -> np.ndarray:
        try:
            return np.asarray(self.core.types_of([int(z) for z in numbers]), dtype=np.int64)
        except ModelError as err:
            raise ValueError(str(err)) from err

    def compute(self, positions, types, edge_index, edge_shift, n_local=None, **flags) -> dict:
        return self.core.compute(
            positions, types, edge_index, edge_shift, -1 if n_local is None else n_local, **flags
        )

    def evaluate(self, positions, numbers, cell, pbc, **flags) -> dict[str, np.ndarray]:
        """Neighbor list and model both in C++: a whole structure."""
        positions = np.ascontiguousarray(positions, dtype=np.float64)
        pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
        edge_index, edge_shift, _ = neighbor_list(positions, cell, pbc, self.cutoff)
        return self.compute(positions, self.types(numbers), edge_index, edge_shift, **flags)

    def self_check(self) -> tuple[bool, str]:
        return self.core.self_check()


def load_core(path: str | os.PathLike, device: str = "cpu") -> CoreModel:
    return CoreModel(path, device)
