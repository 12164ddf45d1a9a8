"""`hermnet evaluate`'s table: stress in GPa, energy per atom and per structure, full names."""

import json

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from hermnet.cli.main import main
from tests.model.helpers import cu_h_cell, evaluate


def test_table_units_and_full_names(checkpoint, tmp_path, capsys):
    path, potential = checkpoint
    rng = np.random.default_rng(5)
    frames, energy_errors = [], []
    for repeat in (1, 2):
        atoms = cu_h_cell().repeat((repeat, 1, 1))
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        predicted = float(evaluate(potential, atoms)["energy"][0])
        error = rng.normal(scale=0.1)
        atoms.calc = SinglePointCalculator(
            atoms,
            energy=predicted - error,
            forces=np.zeros((len(atoms), 3)),
            stress=rng.normal(scale=0.01, size=6),
        )
        frames.append(atoms)
        energy_errors.append(error)
    name = "a_rather_long_dataset_file_name_for_the_table.extxyz"
    write(tmp_path / name, frames)
    out = tmp_path / "eval"
    assert main(["evaluate", str(path), str(tmp_path / name), "--out", str(out)]) == 0
    table = capsys.readouterr().out
    row = json.loads((out / "metrics.json").read_text())["datasets"][0]
    assert row["energy_per_structure_mae"] == pytest.approx(np.mean(np.abs(energy_errors)), 1e-6)
    header, units, line = table.splitlines()[:3]
    assert "GPa" in units and "meV/struct" in units and "meV/Å3" not in units
    assert line.startswith(name)
    cells = line.split()
    assert float(cells[4]) == pytest.approx(1e3 * row["energy_per_structure_mae"], abs=1e-3)
    assert float(cells[7]) == pytest.approx(160.21766208 * row["stress_mae"], abs=1e-3)
