"""Every reader on the shared reference data (skipped when ../shared/data is absent)."""

import json
import re

import numpy as np
import pytest
from ase.units import GPa

from hermnet.data import read_any, read_deepmd, read_mlearn, read_rmd17


def test_rmd17_ethanol(shared_data):
    path = shared_data / "rmd17" / "rmd17_ethanol_train_01.npz"
    structures = read_rmd17(path)
    raw = np.load(path)
    assert len(structures) == 1000 and all(len(s) == 9 for s in structures)
    assert structures[7].energy == pytest.approx(raw["energies"][7] * 0.0433641, rel=1e-12)
    np.testing.assert_allclose(structures[7].forces, raw["forces"][7] * 0.0433641)
    assert not structures[0].pbc.any() and structures[0].stress is None


def test_water_deepmd_two_sets(shared_data):
    structures = read_deepmd(shared_data / "water" / "data_1")
    assert len(structures) == 160  # set.000 and set.001, 80 frames each
    assert {s.source.split("/")[-1].split("#")[0] for s in structures} == {"set.000", "set.001"}
    first = structures[0]
    assert len(first) == 192 and first.pbc.all()
    assert np.sum(first.numbers == 8) == 64 and np.sum(first.numbers == 1) == 128
    np.testing.assert_allclose(np.diag(first.cell), 12.444661, rtol=1e-6)
    assert len(read_any(shared_data / "water")) == 400  # a folder of DeePMD systems


@pytest.fixture(scope="module")
def si_raw(shared_data):
    return json.loads((shared_data / "mlearn" / "Si" / "training.json").read_text())


@pytest.fixture(scope="module")
def si_training(shared_data):
    return read_mlearn(shared_data / "mlearn" / "Si" / "training.json")


@pytest.fixture(scope="module")
def elastic(si_training, si_raw):
    """Elastic-group structures keyed by (deformation mode, strain) from their description."""
    found = {}
    for structure, item in zip(si_training, si_raw, strict=True):
        match = re.search(r"mode (\d), strain (-?[\d.]+)$", item["description"])
        if item["group"] == "Elastic" and match:
            found[int(match[1]), float(match[2])] = structure
    return found


def test_mlearn_si(si_training, si_raw):
    assert len(si_training) == 214
    assert all(s.pbc.all() and s.stress is not None for s in si_training)
    assert si_training[0].energy == si_raw[0]["outputs"]["energy"]
    # Diagonal: ASE stress = -virial_stress (kBar, compressive positive) * 0.1 GPa.
    xx_kbar = si_raw[0]["outputs"]["virial_stress"][0]
    assert si_training[0].stress[0, 0] == pytest.approx(-xx_kbar * 0.1 * GPa)
    # the group is the structure's kind, which data.config_type_weights can weight
    assert [s.config_type for s in si_training] == [item["group"] for item in si_raw]
    assert sum(s.config_type == "Surface" for s in si_training) == 12


def test_mlearn_stress_sign_from_energy_derivative(elastic):
    """A cell stretched along x is under tension: ASE stress xx > 0, and it is (1/V) dE/de."""
    low, high = elastic[0, 0.02], elastic[0, 0.04]
    slope = (high.energy - low.energy) / 0.02  # dE/d(strain_xx), eV
    volume = 0.5 * (low.volume + high.volume)
    mean_xx = 0.5 * (low.stress[0, 0] + high.stress[0, 0])
    assert len(low) == 64 and mean_xx > 0
    assert slope / volume == pytest.approx(mean_xx, rel=0.1)


@pytest.mark.parametrize(("mode", "plane"), [(3, (0, 1)), (4, (0, 2)), (5, (1, 2))])
def test_mlearn_shear_stress_lands_in_the_sheared_plane(elastic, mode, plane):
    structure = elastic[mode, 0.04]
    # The lattice tells which plane is sheared: that off-diagonal lattice entry is non-zero.
    row, col = plane
    assert abs(structure.cell[col, row]) > 0.5
    others = [abs(structure.stress[p]) for p in {(0, 1), (0, 2), (1, 2)} - {plane}]
    assert structure.stress[plane] > 0.03  # eV/Å^3 (~5 GPa), positive for positive shear
    assert max(others) < 1e-4
