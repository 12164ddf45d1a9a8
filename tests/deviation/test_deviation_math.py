"""hermnet.deviation against DeePMD-kit's definitions, written out independently here."""

import numpy as np
import pytest

from hermnet.deviation import (
    energy_deviation,
    force_deviation,
    frame_deviation,
    virial_deviation,
)


def committee(k: int = 3, n: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=k), rng.normal(size=(k, n, 3)), rng.normal(size=(k, 3, 3))


def test_identical_models_give_zero():
    energies, forces, virials = committee()
    same = frame_deviation([energies[0]] * 3, [forces[0]] * 3, [virials[0]] * 3)
    # Zero up to the rounding of the mean of three equal numbers (as in DeePMD-kit).
    np.testing.assert_allclose(same.row(), 0.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(same.atomic_f, 0.0, rtol=0, atol=1e-15)


def test_two_models_per_atom_values():
    energies, forces, virials = committee(k=2, n=4)
    n = 4
    # Two models: the spread about the mean is half the difference.
    expected_f = np.array([np.linalg.norm(forces[0, i] - forces[1, i]) / 2 for i in range(n)])
    expected_v = np.abs(virials[0] - virials[1]).reshape(9) / 2 / n
    dev = frame_deviation(energies, forces, virials)
    np.testing.assert_allclose(dev.atomic_f, expected_f, rtol=1e-14)
    assert dev.max_devi_f == pytest.approx(expected_f.max(), rel=1e-14)
    assert dev.min_devi_f == pytest.approx(expected_f.min(), rel=1e-14)
    assert dev.avg_devi_f == pytest.approx(expected_f.mean(), rel=1e-14)
    assert dev.max_devi_v == pytest.approx(expected_v.max(), rel=1e-14)
    assert dev.min_devi_v == pytest.approx(expected_v.min(), rel=1e-14)
    # DeePMD's avg_devi_v is the root mean square over the nine components.
    assert dev.avg_devi_v == pytest.approx(np.sqrt(np.mean(expected_v**2)), rel=1e-14)
    assert dev.devi_e == pytest.approx(abs(energies[0] - energies[1]) / 2 / n, rel=1e-14)


def test_force_deviation_is_rms_over_models():
    _, forces, _ = committee(k=4, n=6)
    k, n = forces.shape[:2]
    for i in range(n):
        mean = sum(forces[m, i] for m in range(k)) / k
        rms = np.sqrt(sum(np.sum((forces[m, i] - mean) ** 2) for m in range(k)) / k)
        assert force_deviation(forces)[i] == pytest.approx(rms, rel=1e-13)


def test_relative_levels():
    _, forces, virials = committee(k=3, n=5)
    level = 0.7
    mean = forces.mean(axis=0)
    expected = force_deviation(forces) / (np.linalg.norm(mean, axis=1) + level)
    np.testing.assert_allclose(force_deviation(forces, relative=level), expected, rtol=1e-14)
    per_atom = virials.reshape(3, 9) / 5
    expected_v = per_atom.std(axis=0) / (np.linalg.norm(per_atom.mean(axis=0)) + level)
    np.testing.assert_allclose(virial_deviation(virials, 5, relative_v=level), expected_v)


def test_energy_deviation_is_per_atom():
    assert energy_deviation([1.0, 3.0], n_atoms=4) == pytest.approx(0.25)


def test_one_model_is_not_a_committee():
    with pytest.raises(ValueError, match="at least two models"):
        force_deviation(np.zeros((1, 3, 3)))
