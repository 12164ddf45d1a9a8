"""The edge list LammpsGraph builds from LAMMPS' full neighbor list equals the Python one.

Edges are compared as sets of (center, neighbor, edge vector rounded to 1e-9 Å) over atoms
with local centers: one rank (ghosts mapped to owners with shifts) and two ranks (explicit
ghosts; the ranks' files together must hold every edge exactly once).
"""

import numpy as np
import pytest

from hermnet.data.neighbors import build_graph
from tests.lammps.lammps_helpers import pair_lines, run0, structure
from tests.model.helpers import ELEMENTS


def edge_set(centers, neighbors, vectors) -> list:
    return sorted(
        (int(i), int(j), *np.round(d, 9).tolist())
        for i, j, d in zip(centers, neighbors, vectors, strict=True)
    )


def python_edges(atoms, cutoff=3.5) -> list:
    (i, j), shift = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, cutoff)
    return edge_set(i, j, atoms.positions[j] - atoms.positions[i] + shift)


def lammps_edges(files) -> list:
    rows = [np.loadtxt(f, ndmin=2) for f in files]
    table = np.concatenate([r for r in rows if r.size])
    return edge_set(table[:, 0] - 1, table[:, 1] - 1, table[:, 2:5])


@pytest.mark.parametrize("name", ["alloy", "triclinic", "thin", "molecule"])
@pytest.mark.parametrize("nprocs", [1, 2])
def test_lammps_edges_equal_python_edges(tmp_path, models, name, nprocs):
    atoms = structure(name)
    pair = pair_lines(models["vertex"], ELEMENTS, "dump_graph edges.txt")
    run0(tmp_path, atoms, pair, nprocs=nprocs)
    files = [tmp_path / "edges.txt"] if nprocs == 1 else sorted(tmp_path.glob("edges.txt.rank*"))
    assert len(files) == nprocs
    expected = python_edges(atoms)
    assert len(expected) > 0
    assert lammps_edges(files) == expected
