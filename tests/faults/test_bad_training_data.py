"""Broken training data is named at read time, and a NaN loss blames what is at fault."""

import numpy as np
import pytest
import torch
from ase.calculators.singlepoint import SinglePointCalculator

from hermnet.cli.main import main
from hermnet.data import DataError
from hermnet.train import TrainingError, load_config, train
from hermnet.train import trainer as trainer_module
from hermnet.train.data import load_training_data
from tests.faults.helpers import config, frames


@pytest.mark.parametrize("part", ["train", "validation"])
def test_overlapping_atoms_are_named_before_training(tmp_path, capsys, part):
    broken = frames(4, overlap_at=2)
    path = config(tmp_path, broken) if part == "train" else config(tmp_path, frames(4), broken)
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    name = "train" if part == "train" else "val"
    assert err.count("\n") == 1, err
    assert f"{name}.extxyz#2: atoms 0 (Cu) and 1 (Cu) are 0.1 Å apart" in err
    assert "closer than data.min_distance (0.5 Å)" in err and "Remove the frame" in err
    assert not (tmp_path / "run").exists()


def test_min_distance_zero_turns_the_check_off(tmp_path):
    path = config(tmp_path, frames(4, overlap_at=2), data={"min_distance": 0})
    assert len(load_training_data(load_config(path), torch.float64).train) == 4


def test_a_cutoff_without_edges_is_an_error(tmp_path):
    path = config(tmp_path, frames(4), model={"cutoff": 1.0})
    cfg = load_config(path)
    with pytest.raises(DataError, match=r"no training structure has two atoms within the cutoff"):
        load_training_data(cfg, torch.float64)


def test_untrained_elements_and_lonely_structures_are_logged(tmp_path):
    lonely = frames(4)
    lonely[3] = lonely[3].copy()
    lonely[3].set_cell(lonely[3].cell * 3, scale_atoms=True)  # 7.6 Å apart: no edge at 4 Å
    lonely[3].calc = SinglePointCalculator(
        lonely[3], energy=-14.0, forces=np.zeros((len(lonely[3]), 3))
    )
    path = config(tmp_path, lonely, elements=("Cu", "Ni", "Al"), training={"epochs": 1})
    train(path)
    log = (tmp_path / "run" / "train.log").read_text()
    assert "warning: 2 of the model's 3 elements (Ni, Al) appear in no training structure" in log
    assert "warning: 1 of 4 training structures have no two atoms within the cutoff (4 Å)" in log


def _poison_from(monkeypatch, step: int):
    real = trainer_module.compute_loss
    calls = []

    def poisoned(*args, **kwargs):
        calls.append(1)
        loss = real(*args, **kwargs)
        return loss * float("nan") if len(calls) >= step else loss

    monkeypatch.setattr(trainer_module, "compute_loss", poisoned)


def test_nan_at_the_first_step_does_not_blame_the_learning_rate(tmp_path, monkeypatch):
    _poison_from(monkeypatch, 1)
    with pytest.raises(TrainingError) as info:
        train(config(tmp_path, frames(4)))
    text = str(info.value)
    assert "step 1: before any update" in text and "not the learning rate" in text
    assert "No checkpoint was written yet" in text and "last.pt holds" not in text
    assert not (tmp_path / "run" / "last.pt").exists()


def test_nan_later_blames_the_step_size_and_points_at_last_pt(tmp_path, monkeypatch):
    _poison_from(monkeypatch, 4)  # epoch 2, step 2 (2 steps per epoch)
    with pytest.raises(TrainingError) as info:
        train(config(tmp_path, frames(4)))
    text = str(info.value)
    assert "epoch 2, step 4: training diverged. Lower training.learning_rate" in text
    assert f"{tmp_path / 'run' / 'last.pt'} holds the last good state" in text
