"""Training runs on real data (rMD17 ethanol, 100 frames, tiny float64 model)."""

import csv
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from hermnet.cli.main import main
from hermnet.model import build_model
from hermnet.model.checkpoint import load_checkpoint, load_potential
from hermnet.train import ConfigError, TrainingError, load_config, train
from hermnet.train import trainer as trainer_module
from hermnet.train.data import load_training_data
from hermnet.train.evaluation import evaluate
from hermnet.train.loss import LossWeights
from hermnet.train.trainer import _Trainer
from tests.train.conftest import tiny_config, write_config


def untrained_force_mae(config_path) -> float:
    """Validation force MAE of the model the run starts from (same seed, same references)."""
    cfg = load_config(config_path)
    trainer = _Trainer.__new__(_Trainer)  # only the data and the initial model
    trainer.cfg, trainer.data = cfg, load_training_data(cfg, torch.float64)
    torch.manual_seed(cfg.training.seed)
    trainer.potential = build_model(cfg.model)
    trainer._set_energy_reference()
    loader = torch.utils.data.DataLoader(
        trainer.data.validation, batch_size=50, collate_fn=trainer_module.collate
    )
    sums, _ = evaluate(trainer.potential, loader, torch.device("cpu"), LossWeights())
    return sums.compute()["force_mae"]


def final_weights(path) -> dict[str, torch.Tensor]:
    payload = load_checkpoint(path)
    return {**payload["model_state"], **{f"ema.{k}": v for k, v in payload["ema_state"].items()}}


def test_short_training_run(make_config, tmp_path):
    config = make_config(epochs=4)
    before = untrained_force_mae(config)
    result = train(config)
    out = tmp_path / "run"
    assert result.finished and result.epochs_completed == 4
    assert result.best_metric < 0.8 * before, (result.best_metric, before)
    for name in ("best.pt", "last.pt", "metrics.csv", "train.log", "config.yaml"):
        assert (out / name).is_file(), name
    for name in ("parity_energy.png", "parity_forces.png", "learning_curve.png"):
        assert (out / name).stat().st_size > 1000, name
    assert not list(out.glob(".*.tmp"))  # no leftovers of atomic writes

    with (out / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert all(float(r["val_force_mae"]) > 0 and float(r["time"]) > 0 for r in rows)
    assert float(rows[-1]["val_force_mae"]) < float(rows[0]["val_force_mae"])
    assert all(float(r["train_grad_norm"]) > 0 for r in rows)
    assert all(0.0 <= float(r["train_clipped"]) <= 1.0 for r in rows)

    last = load_checkpoint(out / "last.pt")
    for key in ("model_config", "model_state", "ema_state", "optimizer", "scheduler", "rng"):
        assert last[key] is not None, key
    assert (last["epoch"], last["global_step"]) == (4, 40)
    assert last["config"]["training"]["epochs"] == 4
    assert "100 structures" in last["data_description"]
    assert set(last["rng"]) >= {"torch", "numpy", "python", "loader"}
    reference = last["energy_reference"]
    assert reference["scale"] > 0 and math.isfinite(reference["mean_energy"])
    assert reference["mean_energy"] < -1000  # ethanol, eV
    potential, model_config, best = load_potential(out / "best.pt")
    assert model_config.features == 16
    assert best["best_metric"] == pytest.approx(result.best_metric)
    assert float(potential.model.mean_energy) == reference["mean_energy"]

    # the same folder again without --resume is refused before anything is touched
    stamp = (out / "last.pt").stat().st_mtime_ns
    with pytest.raises(ConfigError, match="--resume"):
        train(config)
    assert (out / "last.pt").stat().st_mtime_ns == stamp
    # resuming a finished run trains nothing more
    again = train(config, resume=True)
    assert again.epochs_completed == 4
    assert load_checkpoint(out / "last.pt")["global_step"] == 40


def test_huber_loss_trains(make_config, monkeypatch):
    """training.loss: huber reaches the loss (its delta below the untrained errors) and learns."""
    config = make_config(epochs=3, loss="huber", huber_delta=0.05)
    before = untrained_force_mae(config)
    deltas = set()
    original = trainer_module.compute_loss

    def spy(prediction, batch, weights, *args):
        deltas.add(weights.huber_delta)
        return original(prediction, batch, weights, *args)

    monkeypatch.setattr(trainer_module, "compute_loss", spy)
    result = train(config)
    assert deltas == {0.05}
    assert result.finished
    assert result.best_metric < 0.8 * before, (result.best_metric, before)


def test_nan_loss_stops_with_advice(make_config, tmp_path, monkeypatch, capsys):
    real = trainer_module.compute_loss

    def poisoned(*args, **kwargs):
        return real(*args, **kwargs) * float("nan")

    monkeypatch.setattr(trainer_module, "compute_loss", poisoned)
    config = make_config(epochs=2)
    # at the first step, before any update, the step size cannot be at fault
    with pytest.raises(TrainingError, match=r"epoch 1, step 1: before any update.*No checkpoint"):
        train(config)
    assert not (tmp_path / "run" / "last.pt").exists()
    assert main(["train", str(config), "--resume"]) == 2  # nothing to resume
    capsys.readouterr()


def test_time_limit_stops_and_resume_is_exact_mid_epoch(make_config, tmp_path):
    """Stop after every step (max_time ~ 0), resume until done: same weights as one run."""
    reference = train(make_config(name="a.yaml", output="full", epochs=2, batch_size=34))
    assert reference.finished
    config = make_config(
        name="b.yaml", output="pieces", epochs=2, batch_size=34, max_time_minutes=1e-9
    )
    result = train(config)
    resumes = 0
    while not result.finished:
        assert load_checkpoint(tmp_path / "pieces" / "last.pt")["global_step"] == resumes + 1
        result = train(config, resume=True)
        resumes += 1
    assert resumes == 5  # 2 epochs x 3 steps, one step per call
    full, pieces = (
        final_weights(tmp_path / "full" / "last.pt"),
        final_weights(tmp_path / "pieces" / "last.pt"),
    )
    for key, value in full.items():
        assert torch.equal(value, pieces[key]), key
    with (tmp_path / "pieces" / "metrics.csv").open() as handle:
        assert [int(r["epoch"]) for r in csv.DictReader(handle)] == [1, 2]


@pytest.mark.slow
def test_resume_after_sigkill_matches_uninterrupted_run(make_config, tmp_path):
    epochs = 4
    reference = train(make_config(name="ref.yaml", output="ref", epochs=epochs))
    assert reference.finished

    config = make_config(name="killed.yaml", output="killed", epochs=epochs)
    last = tmp_path / "killed" / "last.pt"
    env = {**os.environ, "HERMNET_TRAIN_EPOCH_SLEEP": "30"}
    command = [sys.executable, "-m", "hermnet.cli.main", "train", str(config)]
    log = (tmp_path / "killed.log").open("w")  # a file, not a pipe: it never fills up
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not (last.exists() and load_checkpoint(last)["epoch"] >= 1):
            assert process.poll() is None, (tmp_path / "killed.log").read_text()
            assert time.monotonic() < deadline, "no checkpoint after 300 s"
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)  # while it sleeps after epoch 1
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    assert process.returncode == -signal.SIGKILL
    killed_at = load_checkpoint(last)["epoch"]
    assert 1 <= killed_at < epochs

    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming at epoch {killed_at + 1}/{epochs}" in resumed.stdout
    payload = load_checkpoint(last)
    assert payload["epoch"] == epochs and payload["global_step"] == epochs * 10
    expected, got = final_weights(tmp_path / "ref" / "last.pt"), final_weights(last)
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, rtol=1e-12, atol=1e-12, msg=key)
    with (tmp_path / "killed" / "metrics.csv").open() as handle:
        assert [int(r["epoch"]) for r in csv.DictReader(handle)] == list(range(1, epochs + 1))


def test_stress_training_without_ema(ethanol_file, tmp_path):
    si = ethanol_file.parents[1] / "mlearn" / "Si"
    if not (si / "training.json").is_file():
        pytest.skip(f"{si} not found")
    raw = tiny_config(si / "training.json", epochs=2, batch_size=4)
    raw["model"]["elements"] = ["Si"]
    raw["data"] = {
        "train": [str(si / "training.json")],
        "validation": [str(si / "test.json")],
        "max_train": 12,
        "max_validation": 4,
    }
    raw["training"].update(
        stress_weight=100.0,
        ema_decay=0.0,
        optimizer="adamw",
        scheduler="plateau",
        best_metric="loss",  # energy, forces and stress together pick best.pt
    )
    config = write_config(tmp_path, raw)
    result = train(config)
    assert result.finished and math.isfinite(result.validation["stress_mae"])
    with (tmp_path / "run" / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert all(float(r["train_stress_rmse"]) > 0 and float(r["val_stress_mae"]) > 0 for r in rows)
    best = load_checkpoint(tmp_path / "run" / "best.pt")
    assert best["ema_state"] is None
    assert best["best_metric_name"] == "validation loss"
    assert best["best_metric"] == pytest.approx(min(float(r["val_loss"]) for r in rows))
