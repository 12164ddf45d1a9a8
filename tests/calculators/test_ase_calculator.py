"""The ASE calculator against the model itself, and with ASE's MD, optimizer and phonons."""

import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.md.verlet import VelocityVerlet
from ase.optimize import BFGS
from ase.stress import full_3x3_to_voigt_6_stress

from hermnet.calculators import HermNetCalculator
from tests.model.helpers import cu_h_cell, ethanol, evaluate


@pytest.mark.parametrize("make", [ethanol, cu_h_cell], ids=["molecule", "periodic"])
def test_matches_model(checkpoint, make):
    path, potential = checkpoint
    atoms = make()
    atoms.calc = HermNetCalculator(model=path)
    ref = evaluate(potential, atoms, stress=True)
    assert atoms.get_potential_energy() == pytest.approx(float(ref["energy"][0]), rel=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), ref["forces"].numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        atoms.get_potential_energies(), ref["atomic_energy"].numpy(), rtol=0, atol=1e-12
    )
    if atoms.pbc.any():
        expected = full_3x3_to_voigt_6_stress(ref["stress"][0].numpy())
        np.testing.assert_allclose(atoms.get_stress(), expected, rtol=0, atol=1e-12)


def test_unknown_element_is_named(checkpoint):
    atoms = bulk("Ni", "fcc", a=3.5)
    atoms.calc = HermNetCalculator(model=checkpoint[0])
    with pytest.raises(ValueError, match=r"\['Ni'\].*model's elements are \['H', 'C', 'O', 'Cu'\]"):
        atoms.get_potential_energy()


def test_md_conserves_energy_and_optimizer_lowers_it(checkpoint):
    atoms = ethanol()
    atoms.calc = HermNetCalculator(model=checkpoint[0])
    rng = np.random.default_rng(0)
    atoms.set_momenta(rng.normal(scale=0.02, size=(len(atoms), 3)) * atoms.get_masses()[:, None])
    e0 = atoms.get_total_energy()
    VelocityVerlet(atoms, timestep=0.25 * units.fs).run(20)
    assert abs(atoms.get_total_energy() - e0) < 1e-3 * max(1.0, abs(e0))
    start = atoms.get_potential_energy()
    BFGS(atoms, logfile=None).run(fmax=1e-4, steps=5)
    assert atoms.get_potential_energy() < start


def test_phonons_run(checkpoint, tmp_path):
    from ase.phonons import Phonons

    atoms = bulk("Cu", "fcc", a=3.6)
    calc = HermNetCalculator(model=checkpoint[0])
    phonons = Phonons(atoms, calc, supercell=(2, 2, 2), delta=0.01, name=str(tmp_path / "ph"))
    phonons.run()
    phonons.read(acoustic=True)
    frequencies = phonons.band_structure([[0, 0, 0], [0.5, 0, 0]])
    assert np.all(np.isfinite(frequencies))
    # Acoustic sum rule: the three Gamma modes vanish.
    assert np.abs(frequencies[0]).max() < 1e-6
