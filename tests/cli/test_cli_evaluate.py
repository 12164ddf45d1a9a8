"""`hermnet evaluate`: metrics equal a direct computation; table, JSON and plots written."""

import json

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from hermnet.cli.main import main
from tests.model.helpers import cu_h_cell, evaluate


def labelled_frames(potential, n=4):
    frames, predictions = [], []
    rng = np.random.default_rng(1)
    for _ in range(n):
        atoms = cu_h_cell()
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        out = evaluate(potential, atoms, stress=True)
        energy = float(out["energy"][0]) + 0.01 * rng.normal()
        forces = out["forces"].numpy() + 0.02 * rng.normal(size=(len(atoms), 3))
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
        frames.append(atoms)
        predictions.append((out, energy, forces))
    return frames, predictions


def test_evaluate_reports_direct_metrics(checkpoint, tmp_path, capsys):
    path, potential = checkpoint
    frames, predictions = labelled_frames(potential)
    data = tmp_path / "frames.extxyz"
    write(data, frames)
    out_dir = tmp_path / "eval"
    assert main(["evaluate", str(path), str(data), "--out", str(out_dir)]) in (0, None)
    report = json.loads((out_dir / "metrics.json").read_text())
    row = report["datasets"][0]
    force_err = np.concatenate([(o["forces"].numpy() - f).ravel() for o, _, f in predictions])
    energy_err = [
        (float(o["energy"][0]) - e) / len(a)
        for (o, e, _), a in zip(predictions, frames, strict=True)
    ]
    # extxyz stores labels with 8 decimals, so agreement is ~1e-8, not machine precision.
    assert row["forces_mae"] == pytest.approx(np.abs(force_err).mean(), rel=1e-6)
    assert row["energy_per_atom_rmse"] == pytest.approx(
        np.sqrt(np.mean(np.square(energy_err))), rel=1e-6
    )
    assert row["structures"] == 4
    for plot in row["plots"].values():
        assert (out_dir / plot.split("/")[-1]).stat().st_size > 0
    assert "frames.extxyz" in capsys.readouterr().out


def test_evaluate_missing_data_fails_cleanly(checkpoint, tmp_path, capsys):
    out_dir = tmp_path / "eval"
    status = main(
        ["evaluate", str(checkpoint[0]), str(tmp_path / "nope.extxyz"), "--out", str(out_dir)]
    )
    assert status == 2
    assert "nope.extxyz" in capsys.readouterr().err
    assert not out_dir.exists()


def test_evaluate_reports_each_config_type(checkpoint, tmp_path, capsys):
    path, potential = checkpoint
    frames, predictions = labelled_frames(potential, n=5)
    kinds = ["Bulk", "Surface", "Bulk", "Surface", "Bulk"]
    for atoms, kind in zip(frames, kinds, strict=True):
        atoms.info["config_type"] = kind
    data = tmp_path / "frames.extxyz"
    write(data, frames)
    out_dir = tmp_path / "eval"
    assert main(["evaluate", str(path), str(data), "--out", str(out_dir)]) in (0, None)
    row = json.loads((out_dir / "metrics.json").read_text())["datasets"][0]
    assert [kind["name"] for kind in row["by_config_type"]] == ["Bulk", "Surface"]
    for kind in row["by_config_type"]:
        chosen = [i for i, k in enumerate(kinds) if k == kind["name"]]
        force_err = np.concatenate(
            [(predictions[i][0]["forces"].numpy() - predictions[i][2]).ravel() for i in chosen]
        )
        assert kind["structures"] == len(chosen)
        assert kind["forces_mae"] == pytest.approx(np.abs(force_err).mean(), rel=1e-6)
    # The whole set's numbers are not changed by the split.
    all_err = np.concatenate([(o["forces"].numpy() - f).ravel() for o, _, f in predictions])
    assert row["forces_mae"] == pytest.approx(np.abs(all_err).mean(), rel=1e-6)
    table = capsys.readouterr().out
    assert "  Bulk" in table and "  Surface" in table


def test_evaluate_has_no_per_kind_rows_for_one_kind(checkpoint, tmp_path):
    path, potential = checkpoint
    frames, _ = labelled_frames(potential)
    for atoms in frames:
        atoms.info["config_type"] = "Bulk"
    data = tmp_path / "frames.extxyz"
    write(data, frames)
    out_dir = tmp_path / "eval"
    assert main(["evaluate", str(path), str(data), "--out", str(out_dir)]) in (0, None)
    row = json.loads((out_dir / "metrics.json").read_text())["datasets"][0]
    assert "by_config_type" not in row
