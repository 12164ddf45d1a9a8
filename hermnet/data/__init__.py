"""Data layer: readers (eV, Å at the boundary), radius graphs, batching and statistics."""

from hermnet.data.batch import Batch, collate
from hermnet.data.dataset import GraphDataset
from hermnet.data.errors import DataError
from hermnet.data.graph import AtomicGraph
from hermnet.data.neighbors import build_graph
from hermnet.data.readers import (
    read_any,
    read_ase,
    read_deepmd,
    read_many,
    read_mlearn,
    read_rmd17,
)
from hermnet.data.splits import split_by_group, split_train_validation
from hermnet.data.statistics import composition_matrix, fit_reference_energies, force_rms
from hermnet.data.structure import Structure
from hermnet.data.type_mapper import TypeMapper

__all__ = [
    "AtomicGraph",
    "Batch",
    "DataError",
    "GraphDataset",
    "Structure",
    "TypeMapper",
    "build_graph",
    "collate",
    "composition_matrix",
    "fit_reference_energies",
    "force_rms",
    "read_any",
    "read_ase",
    "read_deepmd",
    "read_many",
    "read_mlearn",
    "read_rmd17",
    "split_by_group",
    "split_train_validation",
]
