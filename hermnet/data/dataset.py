"""A torch Dataset of AtomicGraphs whose neighbor lists are built once, up front."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch.utils.data import Dataset

from hermnet.data.graph import AtomicGraph
from hermnet.data.structure import Structure
from hermnet.data.type_mapper import TypeMapper


class GraphDataset(Dataset):
    """Graphs for a list of Structures, precomputed so every epoch reuses them.

    Use with `torch.utils.data.DataLoader(dataset, batch_size=..., collate_fn=collate)`.
    """

    def __init__(
        self,
        structures: Sequence[Structure],
        type_mapper: TypeMapper,
        cutoff: float,
        dtype: torch.dtype = torch.float32,
        config_type_weights: Mapping[str, float] | None = None,
    ) -> None:
        self.structures = list(structures)
        self.type_mapper = type_mapper
        self.cutoff = float(cutoff)
        self.dtype = dtype
        weights = config_type_weights or {}
        self.graphs = [
            AtomicGraph.from_structure(
                s, type_mapper, self.cutoff, dtype, weights.get(s.config_type, 1.0)
            )
            for s in self.structures
        ]

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index: int) -> AtomicGraph:
        return self.graphs[index]
