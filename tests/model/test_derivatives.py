"""Forces and stress against central finite differences of the energy."""

import numpy as np
import pytest

from tests.model.helpers import MODEL_KINDS, alloy, cu_h_cell, ethanol, evaluate, tiny_potential

H = 1e-5  # central differences: truncation error ~ h^2, round-off ~ 1e-16 / h


def energy(potential, atoms) -> float:
    return float(evaluate(potential, atoms)["energy"][0])


@pytest.mark.parametrize("variant", MODEL_KINDS)
@pytest.mark.parametrize("make", [ethanol, cu_h_cell], ids=["molecule", "periodic"])
def test_forces_are_minus_gradient(variant, make):
    potential = tiny_potential(variant)
    atoms = make()
    forces = evaluate(potential, atoms)["forces"].numpy()
    rng = np.random.default_rng(0)
    for atom in rng.choice(len(atoms), size=min(3, len(atoms)), replace=False):
        for axis in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[atom, axis] += H
            minus.positions[atom, axis] -= H
            fd = -(energy(potential, plus) - energy(potential, minus)) / (2 * H)
            assert fd == pytest.approx(forces[atom, axis], rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("variant", MODEL_KINDS)
def test_stress_is_strain_derivative(variant):
    """ASE convention: stress = (1/V) dE/d(strain), positive under tension."""
    potential = tiny_potential(variant)
    atoms = alloy(n_repeat=1)
    atoms.set_cell(
        atoms.cell.array + np.array([[0, 0.2, 0.1], [0, 0, 0.15], [0, 0, 0]]), scale_atoms=True
    )
    stress = evaluate(potential, atoms, stress=True)["stress"][0].numpy()
    volume = atoms.get_volume()
    for a in range(3):
        for b in range(3):
            energies = []
            for sign in (1, -1):
                strain = np.eye(3)
                strain[a, b] += sign * H
                strained = atoms.copy()
                strained.set_cell(atoms.cell.array @ strain.T, scale_atoms=True)
                energies.append(energy(potential, strained))
            fd = (energies[0] - energies[1]) / (2 * H) / volume
            assert fd == pytest.approx(stress[a, b], rel=1e-6, abs=1e-9)
