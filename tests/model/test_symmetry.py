"""Invariance of energies and equivariance of forces, stresses and per-atom virials."""

import numpy as np
import pytest
import torch

from tests.model.helpers import (
    MODEL_KINDS,
    alloy,
    cu_h_cell,
    ethanol,
    evaluate,
    random_rotation,
    tiny_potential,
)

RTOL = 1e-10  # float64


def close(a, b, rtol=RTOL):
    scale = max(float(np.abs(b).max()), 1e-12)
    np.testing.assert_allclose(a, b, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("variant", MODEL_KINDS)
@pytest.mark.parametrize("make", [ethanol, cu_h_cell], ids=["molecule", "periodic"])
def test_rotation_translation(variant, make):
    potential = tiny_potential(variant)
    atoms = make()
    ref = evaluate(potential, atoms, stress=True, atomic_virial=True)
    rot = random_rotation(seed=3)
    moved = atoms.copy()
    moved.set_cell(atoms.cell.array @ rot.T, scale_atoms=False)
    moved.positions = atoms.positions @ rot.T + np.array([0.3, -1.2, 2.5])
    out = evaluate(potential, moved, stress=True, atomic_virial=True)
    close(out["energy"].numpy(), ref["energy"].numpy())
    close(out["atomic_energy"].numpy(), ref["atomic_energy"].numpy())
    close(out["forces"].numpy(), ref["forces"].numpy() @ rot.T)
    if atoms.pbc.any():
        close(out["stress"][0].numpy(), rot @ ref["stress"][0].numpy() @ rot.T)
    close(out["atomic_virial"].numpy(), rot @ ref["atomic_virial"].numpy() @ rot.T)


@pytest.mark.parametrize("variant", MODEL_KINDS)
def test_permutation(variant):
    potential = tiny_potential(variant)
    atoms = alloy()
    perm = np.random.default_rng(0).permutation(len(atoms))
    ref = evaluate(potential, atoms)
    out = evaluate(potential, atoms[perm])
    close(out["energy"].numpy(), ref["energy"].numpy())
    close(out["forces"].numpy(), ref["forces"].numpy()[perm])
    close(out["atomic_energy"].numpy(), ref["atomic_energy"].numpy()[perm])


@pytest.mark.parametrize("variant", MODEL_KINDS)
def test_sum_rules(variant):
    """Forces sum to zero; per-atom energies and virials add up to the totals."""
    potential = tiny_potential(variant)
    out = evaluate(potential, alloy(), stress=True, atomic_virial=True)
    assert float(out["forces"].sum(0).abs().max()) < 1e-10 * float(out["forces"].abs().max())
    close(out["atomic_energy"].sum().reshape(1).numpy(), out["energy"].numpy())
    close(out["atomic_virial"].sum(0).numpy(), out["virial"][0].numpy())
    assert torch.allclose(out["virial"][0], out["virial"][0].T, atol=1e-10)
