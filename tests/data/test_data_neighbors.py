"""build_graph against ASE's reference neighbor list, on the geometries that break naive code."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc111, molecule
from ase.neighborlist import primitive_neighbor_list

from hermnet.data import DataError, build_graph


def ase_edges(positions, cell, pbc, cutoff):
    """ASE's edges as sorted integer rows (i, j, Sx, Sy, Sz)."""
    i, j, shifts = primitive_neighbor_list("ijS", pbc, cell, positions, cutoff)
    rows = np.column_stack([i, j, shifts]).astype(np.int64)
    return rows[np.lexsort(rows.T[::-1])]


def assert_matches_ase(atoms: Atoms, cutoff: float) -> np.ndarray:
    cell = atoms.cell.array
    edge_index, edge_shift = build_graph(atoms.positions, cell, atoms.pbc, cutoff)
    expected = ase_edges(atoms.positions, cell, atoms.pbc, cutoff)

    assert edge_index.dtype == np.int64 and edge_shift.dtype == np.float64
    np.testing.assert_array_equal(edge_index.T, expected[:, :2])  # same order: already sorted
    np.testing.assert_array_equal(edge_shift, expected[:, 2:].astype(np.float64) @ cell)
    vectors = atoms.positions[edge_index[1]] - atoms.positions[edge_index[0]] + edge_shift
    distances = np.linalg.norm(vectors, axis=1)
    assert np.all(distances < cutoff) and np.all(distances > 0)
    return edge_index


def test_molecule_without_cell():
    atoms = molecule("CH3CH2OH")
    edge_index = assert_matches_ase(atoms, 2.5)
    assert edge_index.shape[1] > 0


def test_molecule_ignores_cell_when_not_periodic():
    atoms = molecule("CH3CH2OH", vacuum=1.0)  # a (small) cell, but pbc False
    atoms.positions += 50.0  # far outside it
    reference, _ = build_graph(molecule("CH3CH2OH").positions, np.zeros((3, 3)), False, 2.5)
    edge_index, edge_shift = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, 2.5)
    np.testing.assert_array_equal(edge_index, reference)
    assert not edge_shift.any()


def test_fcc_copper_cube():
    assert_matches_ase(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2), 5.0)


@pytest.mark.parametrize("repeat", [(1, 1, 1), (2, 1, 1)])
def test_cell_thinner_than_twice_the_cutoff(repeat):
    atoms = bulk("Cu", "fcc", a=3.61).repeat(repeat)  # 1 or 2 atoms, cutoff 5 Å
    edge_index = assert_matches_ase(atoms, 5.0)
    # An atom sees many images of itself: edges i -> i with non-zero shifts.
    assert np.sum(edge_index[0] == edge_index[1]) >= 12


def test_triclinic_cell():
    rng = np.random.default_rng(1)
    cell = np.array([[4.0, 0.0, 0.0], [1.7, 3.6, 0.0], [-0.9, 1.1, 3.3]])
    atoms = Atoms("SiGe2", scaled_positions=rng.random((3, 3)), cell=cell, pbc=True)
    assert_matches_ase(atoms, 4.5)


def test_left_handed_cell():
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.set_cell(atoms.cell.array[[1, 0, 2]], scale_atoms=False)
    assert np.linalg.det(atoms.cell.array) < 0
    assert_matches_ase(atoms, 4.0)


def test_slab_periodic_in_plane_only():
    atoms = fcc111("Cu", size=(2, 2, 3), vacuum=4.0)
    assert list(atoms.pbc) == [True, True, False]
    edge_index = assert_matches_ase(atoms, 5.0)
    _, shift = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, 5.0)
    assert edge_index.shape[1] > 0 and not shift[:, 2].any()


def test_slab_with_zero_vacuum_vector():
    atoms = fcc111("Cu", size=(2, 2, 3), vacuum=4.0)
    cell = atoms.cell.array.copy()
    cell[2] = 0.0  # common for slabs: the non-periodic vector is left empty
    edges, _ = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, 5.0)
    edges_zero, _ = build_graph(atoms.positions, cell, atoms.pbc, 5.0)
    np.testing.assert_array_equal(edges, edges_zero)


def test_positions_outside_the_cell():
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    rng = np.random.default_rng(0)
    atoms.positions += rng.integers(-3, 4, size=(len(atoms), 3)) @ atoms.cell.array
    atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
    assert_matches_ase(atoms, 5.0)


def test_deterministic_and_empty_cases():
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    first = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, 4.0)
    second = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, 4.0)
    np.testing.assert_array_equal(first[0], second[0])
    edge_index, edge_shift = build_graph(np.zeros((1, 3)), np.zeros((3, 3)), False, 5.0)
    assert edge_index.shape == (2, 0) and edge_shift.shape == (0, 3)


def test_linear_scaling_of_edge_count():
    small = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 2, 2))
    large = small.repeat((2, 2, 1))  # 4x the atoms
    e_small = build_graph(small.positions, small.cell.array, small.pbc, 4.5)[0].shape[1]
    e_large = build_graph(large.positions, large.cell.array, large.pbc, 4.5)[0].shape[1]
    assert e_large == 4 * e_small  # same environment for every atom of a perfect crystal


def test_bad_input_is_reported():
    with pytest.raises(DataError, match="periodic cell vectors are zero"):
        build_graph(np.zeros((2, 3)), np.zeros((3, 3)), True, 3.0)
    with pytest.raises(DataError, match="cutoff must be a positive"):
        build_graph(np.zeros((2, 3)), np.eye(3), False, 0.0)
