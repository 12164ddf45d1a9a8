"""`hermnet evaluate model.pt`: an exported model gives the checkpoint's metrics."""

import json

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from hermnet.cli.main import main
from tests.model.helpers import cu_h_cell, ethanol


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "unfused"])
def test_exported_model_matches_its_checkpoint(checkpoint, tmp_path, capsys, fused):
    path, _ = checkpoint
    rng = np.random.default_rng(2)
    frames = [cu_h_cell(), cu_h_cell(triclinic=True), cu_h_cell(thin=True)]
    for atoms in frames:
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        atoms.calc = SinglePointCalculator(
            atoms,
            energy=rng.normal(),
            forces=rng.normal(size=(len(atoms), 3)),
            stress=rng.normal(scale=0.01, size=6),
        )
    data = tmp_path / "frames.extxyz"
    write(data, frames)
    write(tmp_path / "frame.extxyz", ethanol())
    model = tmp_path / "model.pt"
    export = ["export", str(path), "-o", str(model), "--frame", str(tmp_path / "frame.extxyz")]
    assert main(export if fused else [*export, "--unfused"]) == 0

    reports = {}
    for name, source in (("checkpoint", path), ("exported", model)):
        out = tmp_path / name
        # batches of 2: one call of the exported model spans several structures
        assert (
            main(["evaluate", str(source), str(data), "--out", str(out), "--batch-size", "2"]) == 0
        )
        reports[name] = json.loads((out / "metrics.json").read_text())
    expected, got = reports["checkpoint"]["datasets"][0], reports["exported"]["datasets"][0]
    for key in ("energy_per_atom_mae", "forces_mae", "forces_rmse", "stress_mae"):
        assert got[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-12), key
    assert reports["exported"]["model"]["exported"] is True
    capsys.readouterr()


def test_checkpoint_only_commands_say_what_to_do_with_a_model(checkpoint, tmp_path, capsys):
    path, _ = checkpoint
    write(tmp_path / "frame.extxyz", ethanol())
    model = tmp_path / "model.pt"
    frame = ["--frame", str(tmp_path / "frame.extxyz")]
    assert main(["export", str(path), "-o", str(model), *frame]) == 0
    capsys.readouterr()
    assert main(["export", str(model), "-o", str(tmp_path / "again.pt"), *frame]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "is an exported model (from `hermnet export`), not a training checkpoint" in err
