"""`hermnet lammps-data`: one's own structure as a LAMMPS data file in the model's types."""

import pytest
from ase.io import write

from hermnet.cli.main import main
from tests.export.export_helpers import export_tiny
from tests.model.helpers import cu_h_cell, ethanol


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.pt"
    export_tiny("pair", path, fused=False)  # elements H, C, O, Cu
    return path


def test_types_and_masses_follow_the_model(model, tmp_path, capsys):
    write(tmp_path / "cell.extxyz", [ethanol(), cu_h_cell(triclinic=True)])  # the last frame
    data = tmp_path / "system.data"
    assert (
        main(["lammps-data", str(tmp_path / "cell.extxyz"), "-o", str(data), "--model", str(model)])
        == 0
    )
    out = capsys.readouterr().out
    assert "atom types 1=H, 2=C, 3=O, 4=Cu" in out
    assert "pair_coeff      * * H C O Cu" in out
    text = data.read_text()
    assert "4 atom types" in text and "xy xz yz" in text
    masses = text.split("Masses")[1].split("Atoms")[0].split()
    assert masses[:8] == ["1", "1.008", "2", "12.011", "3", "15.999", "4", "63.546"]
    atoms = cu_h_cell(triclinic=True)
    rows = text.split("Atoms # atomic")[1].split("\n")
    types = [int(row.split()[1]) for row in rows if row.strip()]
    expected = [{"H": 1, "C": 2, "O": 3, "Cu": 4}[s] for s in atoms.get_chemical_symbols()]
    assert types == expected


def test_unknown_elements_are_named(model, tmp_path, capsys):
    from ase.build import bulk

    write(tmp_path / "ni.extxyz", bulk("Ni", "fcc", a=3.5))
    status = main(
        [
            "lammps-data",
            str(tmp_path / "ni.extxyz"),
            "-o",
            str(tmp_path / "x.data"),
            "--model",
            str(model),
        ]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "contains ['Ni'], which the model (elements ['H', 'C', 'O', 'Cu']) does not know" in err
    assert not (tmp_path / "x.data").exists()
