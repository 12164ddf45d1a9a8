"""One structure as torch tensors with its radius graph, ready for collation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hermnet.data.neighbors import build_graph
from hermnet.data.structure import Structure
from hermnet.data.type_mapper import TypeMapper


@dataclass
class AtomicGraph:
    """Tensors of one structure; field names follow hermnet.keys, units eV and Å."""

    positions: torch.Tensor  # (n, 3) float
    types: torch.Tensor  # (n,) int64
    edge_index: torch.Tensor  # (2, E) int64, row 0 center i, row 1 neighbor j
    edge_shift: torch.Tensor  # (E, 3) float, Å; d_ij = r_j - r_i + shift
    cell: torch.Tensor  # (3, 3) float, rows are cell vectors (zeros if open)
    pbc: torch.Tensor  # (3,) bool
    energy: torch.Tensor | None = None  # () float64, eV
    forces: torch.Tensor | None = None  # (n, 3) float, eV/Å
    stress: torch.Tensor | None = None  # (3, 3) float, eV/Å^3, ASE sign
    source: str = "<memory>"
    weight: float = 1.0  # of this structure's terms in the training loss

    @property
    def num_atoms(self) -> int:
        return int(self.positions.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])

    @classmethod
    def from_structure(
        cls,
        structure: Structure,
        type_mapper: TypeMapper,
        cutoff: float,
        dtype: torch.dtype = torch.float32,
        weight: float = 1.0,
    ) -> AtomicGraph:
        """Validate, map elements to types and build the graph (in float64, then cast)."""
        structure.validate()
        types = type_mapper.types(structure.numbers, structure.source)
        edge_index, edge_shift = build_graph(
            structure.positions, structure.cell, structure.pbc, cutoff
        )

        def floats(array: np.ndarray | float | None) -> torch.Tensor | None:
            # Copy, so that in-place edits of a batch never reach the cached Structure.
            return None if array is None else torch.tensor(np.asarray(array), dtype=dtype)

        return cls(
            positions=floats(structure.positions),
            types=torch.as_tensor(types, dtype=torch.int64),
            edge_index=torch.as_tensor(edge_index, dtype=torch.int64),
            edge_shift=floats(edge_shift),
            cell=floats(structure.cell),
            pbc=torch.as_tensor(structure.pbc, dtype=torch.bool),
            # Total energies (up to 1e5 eV) need float64 for meV resolution, whatever the
            # model dtype; the model's energies are float64 too.
            energy=None
            if structure.energy is None
            else torch.tensor(structure.energy, dtype=torch.float64),
            forces=floats(structure.forces),
            stress=floats(structure.stress),
            source=structure.source,
            weight=float(weight),
        )
