"""TypeMapper, AtomicGraph, collate and GraphDataset."""

import numpy as np
import pytest
import torch
from ase.build import bulk, molecule

from hermnet.data import (
    AtomicGraph,
    DataError,
    GraphDataset,
    Structure,
    TypeMapper,
    build_graph,
    collate,
)


def from_ase(atoms, source, stress=False, labels=True) -> Structure:
    n = len(atoms)
    return Structure(
        numbers=atoms.numbers,
        positions=atoms.positions,
        cell=atoms.cell.array,
        pbc=atoms.pbc,
        energy=-float(n) if labels else None,
        forces=np.full((n, 3), 0.5) if labels else None,
        stress=np.eye(3) * 1e-3 if stress else None,
        source=source,
    )


MAPPER = TypeMapper(["C", "H", "O", "Si"])


def test_type_mapper_follows_model_order():
    np.testing.assert_array_equal(MAPPER.types([14, 1, 6, 8]), [3, 1, 0, 2])
    assert MAPPER.types([1]).dtype == np.int64
    assert TypeMapper.from_structures([from_ase(molecule("CH3OH"), "m")]).elements == (
        "H",
        "C",
        "O",
    )


def test_unknown_element_names_element_source_and_model():
    with pytest.raises(DataError, match=r"mol#3: element\(s\) \['N'\].*\['C', 'H', 'O', 'Si'\]"):
        MAPPER.types([6, 7, 1], source="mol#3")
    with pytest.raises(DataError, match="duplicates"):
        TypeMapper(["H", "H"])


def test_atomic_graph_matches_build_graph():
    structure = from_ase(bulk("Si", "diamond", a=5.43), "si")
    graph = AtomicGraph.from_structure(structure, MAPPER, 4.0, torch.float64)
    edge_index, edge_shift = build_graph(structure.positions, structure.cell, structure.pbc, 4.0)
    assert graph.positions.dtype == torch.float64 and graph.types.tolist() == [3, 3]
    np.testing.assert_array_equal(graph.edge_index.numpy(), edge_index)
    np.testing.assert_array_equal(graph.edge_shift.numpy(), edge_shift)
    assert graph.energy.shape == () and graph.forces.shape == (2, 3)
    assert graph.stress is None and graph.pbc.all()


def test_collate_offsets_labels_and_stress_mask():
    small = from_ase(molecule("H2O"), "water")
    large = from_ase(bulk("Si", "diamond", a=5.43, cubic=True), "si", stress=True)
    graphs = [AtomicGraph.from_structure(s, MAPPER, 3.0, torch.float64) for s in (small, large)]
    batch = collate(graphs)

    assert batch.num_graphs == 2 and batch.num_atoms.tolist() == [3, 8]
    assert batch.batch.tolist() == [0] * 3 + [1] * 8
    e_small = graphs[0].num_edges
    assert batch.edge_index.shape == (2, e_small + graphs[1].num_edges)
    np.testing.assert_array_equal(batch.edge_index[:, :e_small], graphs[0].edge_index)
    np.testing.assert_array_equal(batch.edge_index[:, e_small:], graphs[1].edge_index + 3)
    assert batch.energy.tolist() == [-3.0, -8.0] and batch.forces.shape == (11, 3)
    assert batch.stress_mask.tolist() == [False, True]
    assert not batch.stress[0].any() and batch.stress[1, 0, 0] == 1e-3
    assert batch.cell.shape == (2, 3, 3) and batch.sources == ("water", "si")
    # Edge vectors in the batch are the per-structure ones.
    vec = batch.positions[batch.edge_index[1]] - batch.positions[batch.edge_index[0]]
    vec = vec + batch.edge_shift
    assert torch.linalg.vector_norm(vec, dim=1).max() < 3.0
    moved = batch.to("cpu")
    assert moved.positions.device.type == "cpu" and moved.num_graphs == 2


def test_collate_refuses_partial_energy_and_forces():
    labelled = from_ase(molecule("H2O"), "a")
    unlabelled = from_ase(molecule("H2O"), "b", labels=False)
    graphs = [AtomicGraph.from_structure(s, MAPPER, 3.0) for s in (labelled, unlabelled)]
    with pytest.raises(DataError, match=r"1 of 2 structures in this batch have no energy.*b\)"):
        collate(graphs)
    none = collate(graphs[1:])
    assert none.energy is None and none.forces is None and none.stress is None


def test_dataset_with_dataloader():
    structures = [from_ase(molecule("CH3OH"), f"m#{k}") for k in range(5)]
    dataset = GraphDataset(structures, MAPPER, 3.0, dtype=torch.float64)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, collate_fn=collate)
    batches = list(loader)
    assert len(dataset) == 5 and len(batches) == 3
    assert batches[0].positions.dtype == torch.float64 and batches[-1].num_graphs == 1
    assert GraphDataset(structures, MAPPER, 3.0)[0].positions.dtype == torch.float32
