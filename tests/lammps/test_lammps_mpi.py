"""1, 2 and 4 MPI ranks give the single-rank results (explicit ghost shell as deep as the
receptive field, ghost forces summed onto owners by LAMMPS), also when a rank owns no atom.

The ranks differ from one rank only in summation order: 1e-10 of each quantity's scale
(measured: about 1e-14).
"""

import re

import pytest

from tests.lammps.lammps_helpers import assert_close, pair_lines, run0, structure
from tests.model.helpers import ELEMENTS

OUTPUTS = ("energy", "forces", "atomic_energy", "virial", "atomic_virial", "atomic_virial6")


def nlocal_min(output: str) -> float:
    match = re.search(r"Nlocal:\s+\S+ ave\s+\S+ max\s+(\S+) min", output)
    assert match, "no Nlocal statistics in the LAMMPS output"
    return float(match.group(1))


def compare_ranks(tmp_path, model, name, ranks, before=""):
    atoms = structure(name)
    pair = pair_lines(model, ELEMENTS)
    one = run0(tmp_path / "1", atoms, pair)
    runs = {}
    for n in ranks:
        runs[n] = run0(tmp_path / str(n), atoms, pair, nprocs=n, before=before)
        output = runs[n]["run"].output
        assert f"HermNet: {n} ranks: explicit ghosts, ghost cutoff 16 Å" in output
        assert_close(runs[n], one, OUTPUTS, rtol=1e-10)
    return runs


def test_molecule_with_empty_ranks(tmp_path, models):
    """A molecule in a vacuum box cut into 4 slabs along x: the outer ranks own no atom."""
    runs = compare_ranks(tmp_path, models["pair"], "molecule", [2, 4], "processors * 1 1")
    assert nlocal_min(runs[4]["run"].output) == 0


def test_alloy_two_ranks(tmp_path, models):
    compare_ranks(tmp_path, models["triad"], "alloy", [2])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["alloy", "triclinic", "thin"])
def test_periodic_cells_two_and_four_ranks(tmp_path, models, name):
    """Small periodic cells: the 16 Å ghost shell holds many images of each atom."""
    runs = compare_ranks(tmp_path, models["vertex"], name, [2, 4])
    if name == "thin":
        assert nlocal_min(runs[4]["run"].output) == 0  # 3 atoms on 4 ranks
