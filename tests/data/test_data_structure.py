"""Structure validation messages and the ASE round trip."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

from hermnet.data import DataError, Structure


def water(**labels) -> Structure:
    positions = [[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]]
    return Structure(numbers=[8, 1, 1], positions=positions, source="test#0", **labels)


def test_valid_structure_defaults_to_open_boundaries():
    structure = water(energy=-14.2, forces=np.zeros((3, 3))).validate(True, True)
    assert structure.numbers.dtype == np.int64 and structure.pbc.shape == (3,)
    assert not structure.pbc.any() and not structure.cell.any()


@pytest.mark.parametrize(
    ("labels", "problem"),
    [
        ({"forces": np.zeros((2, 3))}, "forces has shape"),
        ({"stress": np.zeros(6)}, "stress has shape"),
        ({"forces": np.array([[0, 0, np.nan]] * 3)}, "forces contains NaN"),
        ({"energy": np.inf}, "energy contains NaN or inf"),
    ],
)
def test_bad_labels_name_source_and_problem(labels, problem):
    with pytest.raises(DataError, match=problem) as info:
        water(**labels).validate()
    assert "test#0" in str(info.value)


def test_periodic_structure_needs_a_cell():
    structure = water()
    structure.pbc = np.array([True, True, True])
    with pytest.raises(DataError, match="span zero volume"):
        structure.validate()


def test_required_labels():
    with pytest.raises(DataError, match="no forces.*require_forces=False"):
        water(energy=1.0).validate(require_energy=True, require_forces=True)
    with pytest.raises(DataError, match="no energy"):
        water().validate(require_energy=True)


def test_ase_round_trip_converts_voigt_stress():
    atoms = bulk("Si", "diamond", a=5.43)
    voigt = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) * 1e-3  # xx yy zz yz xz xy
    forces = np.arange(6.0).reshape(2, 3)
    atoms.calc = SinglePointCalculator(atoms, energy=-10.8, forces=forces, stress=voigt)

    structure = Structure.from_atoms(atoms, "si#0").validate(True, True)
    assert structure.stress[1, 2] == structure.stress[2, 1] == 4e-3
    assert structure.stress[0, 1] == 6e-3 and structure.pbc.all()

    back = structure.to_atoms()
    np.testing.assert_allclose(back.get_stress(), voigt)
    np.testing.assert_allclose(back.get_forces(), forces)
    assert back.get_potential_energy() == -10.8


def test_config_type_comes_from_the_atoms_info():
    from ase import Atoms

    atoms = Atoms("Si2", positions=[[0, 0, 0], [1.2, 1.2, 1.2]], cell=np.eye(3) * 5, pbc=True)
    assert Structure.from_atoms(atoms, "a.xyz#0").config_type is None
    atoms.info["config_type"] = "Surface"
    structure = Structure.from_atoms(atoms, "a.xyz#0")
    assert structure.config_type == "Surface"
    assert structure.to_atoms().info["config_type"] == "Surface"  # and back
