"""Many AtomicGraphs concatenated into one disjoint graph (the model's input)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace

import torch

from hermnet import keys
from hermnet.data.dataset import GraphDataset
from hermnet.data.errors import DataError
from hermnet.data.graph import AtomicGraph
from hermnet.data.type_mapper import TypeMapper

# TypeMapper, AtomicGraph and GraphDataset live in their own files and are re-exported
# here because the batching API is used as one piece.
__all__ = ["AtomicGraph", "Batch", "GraphDataset", "TypeMapper", "collate"]


@dataclass
class Batch:
    """G structures with N atoms and E edges in total; names follow hermnet.keys."""

    positions: torch.Tensor  # (N, 3) float, Å
    types: torch.Tensor  # (N,) int64
    edge_index: torch.Tensor  # (2, E) int64, already offset into the batch's atoms
    edge_shift: torch.Tensor  # (E, 3) float, Å
    batch: torch.Tensor  # (N,) int64, structure index of each atom
    num_graphs: int
    num_atoms: torch.Tensor  # (G,) int64
    cell: torch.Tensor  # (G, 3, 3) float
    energy: torch.Tensor | None  # (G,) eV
    forces: torch.Tensor | None  # (N, 3) eV/Å
    stress: torch.Tensor | None  # (G, 3, 3) eV/Å^3, ASE sign; zeros where stress_mask is False
    stress_mask: torch.Tensor  # (G,) bool, which structures have a stress label
    pbc: torch.Tensor | None = None  # (G, 3) bool
    sources: tuple[str, ...] = field(default=())  # where each structure came from
    weight: torch.Tensor | None = None  # (G,) float64 loss weights; None: all 1

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """A copy with every tensor on `device`."""
        moved = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, torch.Tensor):
                moved[item.name] = value.to(device, non_blocking=non_blocking)
        return replace(self, **moved)

    def to_dict(self) -> dict[str, torch.Tensor]:
        """The tensors keyed by the hermnet.keys names (labels only when present)."""
        out = {
            keys.POSITIONS: self.positions,
            keys.TYPES: self.types,
            keys.EDGE_INDEX: self.edge_index,
            keys.EDGE_SHIFT: self.edge_shift,
            keys.BATCH: self.batch,
            keys.CELL: self.cell,
            keys.NUM_ATOMS: self.num_atoms,
        }
        labels = {keys.ENERGY: self.energy, keys.FORCES: self.forces, keys.STRESS: self.stress}
        out.update({key: value for key, value in labels.items() if value is not None})
        return out


def collate(graphs: Sequence[AtomicGraph]) -> Batch:
    """Concatenate graphs, offsetting edge_index by the atoms that come before each graph.

    Energy and forces must be on all structures or on none (training needs both); stress
    may be partial: missing ones are zeros and stress_mask says which are real.
    """
    if len(graphs) == 0:
        raise DataError("collate: got an empty list of graphs; the dataset or batch is empty.")
    dtypes = {g.positions.dtype for g in graphs}
    if len(dtypes) > 1:
        raise DataError(f"collate: graphs mix float dtypes {dtypes}; build them with one dtype.")

    num_atoms = torch.tensor([g.num_atoms for g in graphs], dtype=torch.int64)
    offsets = torch.cumsum(num_atoms, 0) - num_atoms
    edge_index = torch.cat(
        [g.edge_index + offset for g, offset in zip(graphs, offsets.tolist(), strict=True)], 1
    )
    stress_mask = torch.tensor([g.stress is not None for g in graphs], dtype=torch.bool)
    stress = None
    if stress_mask.any():
        zeros = graphs[0].cell.new_zeros(3, 3)
        stress = torch.stack([zeros if g.stress is None else g.stress for g in graphs])

    return Batch(
        positions=torch.cat([g.positions for g in graphs]),
        types=torch.cat([g.types for g in graphs]),
        edge_index=edge_index,
        edge_shift=torch.cat([g.edge_shift for g in graphs]),
        batch=torch.repeat_interleave(torch.arange(len(graphs)), num_atoms),
        num_graphs=len(graphs),
        num_atoms=num_atoms,
        cell=torch.stack([g.cell for g in graphs]),
        energy=_all_or_none(graphs, "energy", torch.stack),
        forces=_all_or_none(graphs, "forces", torch.cat),
        stress=stress,
        stress_mask=stress_mask,
        pbc=torch.stack([g.pbc for g in graphs]),
        sources=tuple(g.source for g in graphs),
        weight=_weights(graphs),
    )


def _weights(graphs: Sequence[AtomicGraph]) -> torch.Tensor | None:
    """Per-structure loss weights, or None when all are 1 (the loss skips them)."""
    values = [g.weight for g in graphs]
    if all(value == 1.0 for value in values):
        return None
    return torch.tensor(values, dtype=torch.float64)


def _all_or_none(graphs: Sequence[AtomicGraph], name: str, join) -> torch.Tensor | None:
    values = [getattr(g, name) for g in graphs]
    missing = [g.source for g, value in zip(graphs, values, strict=True) if value is None]
    if len(missing) == len(graphs):
        return None
    if missing:
        raise DataError(
            f"collate: {len(missing)} of {len(graphs)} structures in this batch have no {name} "
            f"(first: {missing[0]}). Training needs energy and forces on every structure: "
            f"drop the unlabelled ones or read the data with require_{name}=True to find them."
        )
    return join(values)
