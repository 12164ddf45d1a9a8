"""Overlapping atoms: every calculator backend stops with the same clear error, never NaN."""

import pytest

from hermnet.calculators import HermNetCalculator
from hermnet.calculators.ase_calculator import NonFiniteError
from tests.export.export_helpers import export_tiny
from tests.model.helpers import cu_h_cell, ethanol

MESSAGE = r"non-finite (energy|force).*closest atoms are 0 and 1, 0 Å apart.*Atoms may overlap"


def overlapping(make):
    atoms = make()
    atoms.positions[1] = atoms.positions[0]
    return atoms


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.pt"
    export_tiny("pair", path, cutoff=4.0, fused=False)
    return path


@pytest.mark.parametrize("make", [ethanol, cu_h_cell], ids=["molecule", "periodic"])
def test_checkpoint_backend_raises(checkpoint, make):
    atoms = overlapping(make)
    atoms.calc = HermNetCalculator(model=checkpoint[0])
    with pytest.raises(NonFiniteError, match=MESSAGE):
        atoms.get_potential_energy()
    with pytest.raises(NonFiniteError):  # nothing non-finite was cached
        atoms.get_forces()


def test_torchscript_backend_raises(exported):
    atoms = overlapping(ethanol)
    atoms.calc = HermNetCalculator(model=exported)
    with pytest.raises(NonFiniteError, match=MESSAGE):
        atoms.get_forces()


def test_cpp_backend_raises_its_own_error(exported):
    from hermnet.export.core import ModelError

    atoms = overlapping(ethanol)
    atoms.calc = HermNetCalculator(model=exported, backend="cpp")
    with pytest.raises(ModelError, match="non-finite"):
        atoms.get_forces()


def test_cpp_backend_names_a_truncated_model(exported, tmp_path):
    broken = tmp_path / "model.pt"
    broken.write_bytes(exported.read_bytes()[:1000])
    with pytest.raises(ValueError, match="needs an exported model.*may be truncated"):
        HermNetCalculator(model=broken, backend="cpp")


def test_cpp_backend_names_a_checkpoint(checkpoint):
    with pytest.raises(ValueError, match="not an exported HermNet model.*hermnet export"):
        HermNetCalculator(model=checkpoint[0], backend="cpp")
