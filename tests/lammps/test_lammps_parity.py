"""`run 0` in LAMMPS equals the ASE calculator on the same model (float64, one rank).

Energy, forces, per-atom energies, the global virial and the per-atom virial, for a molecule
in a vacuum box, a 4-element alloy, a small triclinic cell and a cell thinner than the
cutoff (so also much thinner than the 14 Å receptive field), in all three variants.
Tolerance: 1e-8 of each quantity's scale (the measured agreement is about 1e-14).
"""

import numpy as np
import pytest

from tests.lammps.lammps_helpers import assert_close, pair_lines, reference, run0, structure
from tests.model.helpers import ELEMENTS, MODEL_KINDS

OUTPUTS = ("energy", "forces", "atomic_energy", "virial", "atomic_virial")


@pytest.mark.parametrize("name", ["molecule", "alloy", "triclinic", "thin"])
@pytest.mark.parametrize("variant", MODEL_KINDS)
def test_run0_matches_ase(tmp_path, models, variant, name):
    atoms = structure(name)
    got = run0(tmp_path, atoms, pair_lines(models[variant], ELEMENTS))
    assert "Loaded 1 plugins from" in got["run"].output
    assert "HermNet: self-check passed" in got["run"].output
    expected = reference(models[variant], atoms)
    assert_close(got, expected, OUTPUTS, rtol=1e-8)
    # stress/atom holds the xx yy zz xy xz yz part of the same per-atom virial
    order = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]
    six = np.stack([expected["atomic_virial"][:, a, b] for a, b in order], axis=1)
    assert_close({"v": got["atomic_virial6"]}, {"v": six}, ["v"], rtol=1e-8)
    assert got["energy"] == pytest.approx(got["atomic_energy"].sum(), rel=1e-12)
