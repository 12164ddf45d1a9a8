"""HermNetCalculator(model=[...]): the first model's results plus the committee deviation."""

import numpy as np
import pytest

from hermnet.calculators import HermNetCalculator
from hermnet.committee import CommitteeError
from tests.deviation.conftest import save_tiny
from tests.model.helpers import cu_h_cell, ethanol, evaluate


@pytest.mark.parametrize("make", [ethanol, cu_h_cell], ids=["molecule", "periodic"])
def test_identical_models_give_zero(pair_of_models, make):
    path = pair_of_models[0][0]
    atoms = make()
    atoms.calc = HermNetCalculator(model=[path, path])
    atoms.get_potential_energy()
    results = atoms.calc.results
    assert results["max_force_deviation"] == 0.0
    assert not results["force_deviation"].any()
    assert results["max_virial_deviation"] == 0.0 and results["energy_deviation"] == 0.0


@pytest.mark.parametrize("make", [ethanol, cu_h_cell], ids=["molecule", "periodic"])
def test_pair_matches_numpy(pair_of_models, make):
    atoms = make()
    atoms.calc = HermNetCalculator(model=[path for path, _ in pair_of_models])
    energy = atoms.get_potential_energy()
    refs = [evaluate(potential, atoms, stress=True) for _, potential in pair_of_models]
    forces = [r["forces"].numpy() for r in refs]
    n = len(atoms)
    # The first model drives: its energy and forces are the calculator's.
    assert energy == pytest.approx(float(refs[0]["energy"][0]), rel=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), forces[0], rtol=0, atol=1e-12)
    results = atoms.calc.results
    per_atom = np.linalg.norm(forces[0] - forces[1], axis=1) / 2
    np.testing.assert_allclose(results["force_deviation"], per_atom, rtol=1e-10, atol=1e-14)
    assert results["max_force_deviation"] == pytest.approx(per_atom.max(), rel=1e-10)
    assert results["max_force_deviation"] > 1e-3  # the two seeds do differ
    virials = [r["virial"][0].numpy() for r in refs]
    np.testing.assert_allclose(
        results["virial_deviation"], np.abs(virials[0] - virials[1]) / 2 / n, atol=1e-14
    )
    energies = [float(r["energy"][0]) for r in refs]
    expected_e = abs(energies[0] - energies[1]) / 2 / n
    assert results["energy_deviation"] == pytest.approx(expected_e, rel=1e-10)
    assert atoms.calc.get_property("max_force_deviation", atoms) == results["max_force_deviation"]


def test_relative(pair_of_models):
    atoms = cu_h_cell()
    paths = [path for path, _ in pair_of_models]
    atoms.calc = HermNetCalculator(model=paths)
    atoms.get_potential_energy()
    absolute = atoms.calc.results["force_deviation"]
    mean = np.mean([m.results["forces"] for m in atoms.calc.members], axis=0)
    atoms.calc = HermNetCalculator(model=paths, relative=0.5)
    atoms.get_potential_energy()
    expected = absolute / (np.linalg.norm(mean, axis=1) + 0.5)
    np.testing.assert_allclose(atoms.calc.results["force_deviation"], expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cutoff": 3.5}, r"cutoff 3.5 Å vs 4 Å"),
        ({"elements": ["H", "C", "O", "Ni"]}, r"elements \['H', 'C', 'O', 'Ni'\] vs"),
    ],
    ids=["cutoff", "elements"],
)
def test_mismatched_committee_is_refused(pair_of_models, tmp_path, overrides, message):
    other, _ = save_tiny(tmp_path / "other.pt", seed=2, **overrides)
    with pytest.raises(CommitteeError, match=rf"differ: .*other.pt has {message}"):
        HermNetCalculator(model=[pair_of_models[0][0], other])


def test_one_model_is_not_a_committee(pair_of_models):
    with pytest.raises(CommitteeError, match="at least two models"):
        HermNetCalculator(model=[pair_of_models[0][0]])
    with pytest.raises(ValueError, match="need a committee"):
        HermNetCalculator(model=pair_of_models[0][0], relative=1.0)
