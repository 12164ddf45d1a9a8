"""Readers on small files written here: ASE formats, dispatch and every error path."""

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from hermnet.data import (
    DataError,
    read_any,
    read_ase,
    read_deepmd,
    read_many,
    read_mlearn,
    read_rmd17,
)
from hermnet.data.readers.rmd17 import KCAL_PER_MOL_IN_EV


def labelled_frames(count=3, with_forces=True):
    frames = []
    for k in range(count):
        atoms = bulk("Cu", "fcc", a=3.6 + 0.01 * k, cubic=True)
        labels = {"energy": -14.0 + k, "stress": np.full(6, 1e-3 * (k + 1))}
        if with_forces:
            labels["forces"] = np.full((len(atoms), 3), 0.1 * k)
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    return frames


@pytest.mark.parametrize("suffix", [".extxyz", ".db"])
def test_read_ase_formats(tmp_path, suffix):
    path = tmp_path / f"frames{suffix}"
    write(path, labelled_frames())
    structures = read_any(path)
    assert len(structures) == 3
    last = structures[2]
    assert last.energy == pytest.approx(-12.0) and last.pbc.all()
    np.testing.assert_allclose(last.forces, 0.2)
    np.testing.assert_allclose(np.diag(last.stress), 3e-3)
    assert last.source.endswith(f"frames{suffix}#2")
    assert len(read_ase(path, index="1:")) == 2


def test_missing_forces_is_an_error_unless_allowed(tmp_path):
    path = tmp_path / "energy_only.extxyz"
    write(path, labelled_frames(with_forces=False))
    with pytest.raises(DataError, match="has no forces"):
        read_any(path)
    assert read_any(path, require_forces=False)[0].forces is None


def test_nan_forces(tmp_path):
    frames = labelled_frames()
    frames[1].calc.results["forces"][0, 0] = np.nan
    path = tmp_path / "nan.extxyz"
    write(path, frames)
    with pytest.raises(DataError, match=r"nan.extxyz#1.*forces contains NaN"):
        read_any(path)


def test_missing_file_and_empty_glob(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        read_any(tmp_path / "nope.extxyz")
    with pytest.raises(DataError, match="matches no file"):
        read_any(str(tmp_path / "*.xyz"))
    with pytest.raises(DataError, match="no paths"):
        read_many([])


def test_empty_file_and_empty_selection(tmp_path):
    path = tmp_path / "empty.extxyz"
    path.write_text("")
    with pytest.raises(DataError, match="file is empty, so no structures were read"):
        read_any(path)
    write(path, labelled_frames())
    with pytest.raises(DataError, match="no structures were read"):
        read_ase(path, index="5:")


def test_glob_is_sorted_and_read_many_concatenates(tmp_path):
    for name, energy in [("b", 2.0), ("a", 1.0)]:
        atoms = molecule("H2O")
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=np.zeros((3, 3)))
        write(tmp_path / f"{name}.extxyz", atoms)
    assert [s.energy for s in read_any(str(tmp_path / "*.extxyz"))] == [1.0, 2.0]
    both = read_many([tmp_path / "b.extxyz", str(tmp_path / "a.*")])
    assert [s.energy for s in both] == [2.0, 1.0]


def write_npz(path, forces_shape=(2, 3, 3)):
    np.savez(
        path,
        nuclear_charges=np.array([8, 1, 1], dtype=np.uint8),
        coords=np.random.default_rng(0).normal(size=(2, 3, 3)),
        energies=np.array([-100.0, -101.0]),
        forces=np.ones(forces_shape),
    )


def test_rmd17_units_and_bad_shapes(tmp_path):
    write_npz(tmp_path / "good.npz")
    structures = read_rmd17(tmp_path / "good.npz")
    assert structures[1].energy == pytest.approx(-101.0 * KCAL_PER_MOL_IN_EV)
    assert not structures[0].pbc.any()
    write_npz(tmp_path / "bad.npz", forces_shape=(2, 9))
    with pytest.raises(DataError, match=r"bad.npz: forces has shape \(2, 9\)"):
        read_any(tmp_path / "bad.npz")


def write_deepmd(folder, with_type_map=True, virial=None):
    (folder / "set.000").mkdir(parents=True)
    (folder / "type.raw").write_text("0 1 1\n")
    if with_type_map:
        (folder / "type_map.raw").write_text("O\nH\n")
    box = np.eye(3).reshape(1, 9) * 5.0
    np.save(folder / "set.000" / "coord.npy", np.random.default_rng(0).random((1, 9)))
    np.save(folder / "set.000" / "box.npy", box)
    np.save(folder / "set.000" / "energy.npy", np.array([-5.0]))
    np.save(folder / "set.000" / "force.npy", np.zeros((1, 9)))
    if virial is not None:
        np.save(folder / "set.000" / "virial.npy", virial.reshape(1, 9))


def test_deepmd_virial_becomes_ase_stress(tmp_path):
    virial = np.diag([1.0, 2.0, 3.0])  # eV; positive virial = the cell pushes outwards
    write_deepmd(tmp_path / "sys", virial=virial)
    (structure,) = read_deepmd(tmp_path / "sys")
    np.testing.assert_allclose(structure.stress, -virial / 125.0)
    assert list(structure.numbers) == [8, 1, 1] and structure.pbc.all()


def test_deepmd_without_type_map_names_the_fix(tmp_path):
    write_deepmd(tmp_path / "sys", with_type_map=False)
    with pytest.raises(DataError, match="no type_map.raw.*Write the element symbols"):
        read_any(tmp_path / "sys")


def test_folder_of_deepmd_systems(tmp_path):
    write_deepmd(tmp_path / "all" / "sys_a")
    write_deepmd(tmp_path / "all" / "sys_b")
    structures = read_any(tmp_path / "all")
    assert [s.source.split("/")[-2] for s in structures] == ["sys_a", "sys_b"]


def test_mlearn_item_errors(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"structure": {"sites": []}, "outputs": {}}]')
    with pytest.raises(DataError, match=r"broken.json#0: not a valid mlearn item"):
        read_mlearn(path)
