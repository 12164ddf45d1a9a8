"""The C++ neighbor list gives exactly hermnet.data.build_graph's edges (vesin, itself
checked against ASE): same centers, neighbors, order and shifts."""

import time

import numpy as np
import pytest
from ase.build import bulk, molecule

from hermnet.data.neighbors import build_graph

core = pytest.importorskip("hermnet.export.core", reason="the C++ core is not built")


def assert_same_edges(positions, cell, pbc, cutoff):
    ref_index, ref_shift = build_graph(positions, cell, pbc, cutoff)
    index, shift, cell_shift = core.neighbor_list(positions, cell, pbc, cutoff)
    np.testing.assert_array_equal(index, ref_index)
    np.testing.assert_allclose(shift, ref_shift, rtol=0, atol=1e-12)
    periodic = np.asarray(pbc, dtype=bool)
    np.testing.assert_allclose(
        cell_shift @ (np.asarray(cell) * periodic[:, None]), shift, atol=1e-12
    )
    return index.shape[1]


def random_cell(rng, scale):
    return np.diag(rng.uniform(0.6, 1.4, 3) * scale) + rng.uniform(-0.4, 0.4, (3, 3)) * scale


@pytest.mark.parametrize("seed", range(8))
def test_random_triclinic_cells(seed):
    rng = np.random.default_rng(seed)
    cell = random_cell(rng, rng.uniform(2.0, 9.0))
    n = int(rng.integers(1, 40))
    positions = rng.uniform(-0.5, 1.5, (n, 3)) @ cell  # not wrapped
    assert assert_same_edges(positions, cell, [True] * 3, rng.uniform(2.0, 6.0)) > 0


@pytest.mark.parametrize("pbc", [[True, True, False], [True, False, False], [False, True, True]])
def test_mixed_periodicity_with_arbitrary_open_vectors(pbc):
    rng = np.random.default_rng(1)
    cell = random_cell(rng, 5.0)
    for k in range(3):
        if not pbc[k]:
            cell[k] = 0.0 if k % 2 else cell[k]  # zero or arbitrary: must not matter
    positions = rng.uniform(0, 1, (30, 3)) @ random_cell(rng, 5.0)
    assert_same_edges(positions, cell, pbc, 4.0)


def test_thin_cells_and_self_images():
    atoms = bulk("Cu", "fcc", a=3.6)  # one atom, cell much thinner than the cutoff
    n = assert_same_edges(atoms.positions, atoms.cell.array, atoms.pbc, 7.5)
    assert n > 100
    cell = np.array([[1.0, 0, 0], [0.9, 0.5, 0], [0.3, 0.2, 0.4]])  # very flat
    assert_same_edges(np.array([[0.1, 0.2, 0.05], [0.5, 0.1, 0.2]]), cell, [True] * 3, 2.0)


def test_molecule_and_empty():
    atoms = molecule("CH3CH2OH")
    assert_same_edges(atoms.positions, np.zeros((3, 3)), [False] * 3, 3.0)
    index, shift, _ = core.neighbor_list(np.zeros((0, 3)), np.eye(3), [True] * 3, 3.0)
    assert index.shape == (2, 0) and shift.shape == (0, 3)
    far = np.array([[0.0, 0, 0], [1e4, 0, 0], [-1e4, 3e3, 0]])  # sparse: bounded bins
    assert core.neighbor_list(far, np.zeros((3, 3)), [False] * 3, 3.0)[0].shape == (2, 0)


def test_clear_errors():
    with pytest.raises(core.ModelError, match="linearly dependent"):
        core.neighbor_list(np.zeros((2, 3)), np.zeros((3, 3)), [True] * 3, 3.0)
    with pytest.raises(core.ModelError, match="cutoff"):
        core.neighbor_list(np.zeros((2, 3)), np.eye(3), [True] * 3, -1.0)
    with pytest.raises(core.ModelError, match="NaN"):
        core.neighbor_list(np.full((2, 3), np.nan), np.eye(3), [True] * 3, 3.0)


def test_linear_scaling():
    """8x the atoms costs about 8x the time (a quadratic list would cost 64x)."""
    times = []
    for repeat in (6, 12):
        atoms = bulk("Ni", "fcc", a=3.56, cubic=True).repeat(repeat)
        atoms.rattle(0.05, seed=0)
        start = time.perf_counter()
        for _ in range(3):
            core.neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 5.0)
        times.append(time.perf_counter() - start)
        assert_same_edges(atoms.positions, atoms.cell.array, atoms.pbc, 5.0)
    assert times[1] / times[0] < 20
