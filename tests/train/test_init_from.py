"""training.init_from: a new run that starts from another run's weights."""

import pytest
import torch

from hermnet.model.checkpoint import CheckpointError, load_checkpoint
from hermnet.train import ConfigError, train
from tests.train.conftest import tiny_config, write_config


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, ethanol_file):
    folder = tmp_path_factory.mktemp("first")
    config = write_config(folder, tiny_config(ethanol_file, epochs=2))
    return train(config), folder / "run"


def test_starts_from_the_ema_weights_and_energy_reference(first_run, ethanol_file, tmp_path):
    result, first = first_run
    best = load_checkpoint(first / "best.pt")
    # A rate of 1e-12 leaves the weights where they start, so the second run's validation
    # error is the first run's best one: the EMA weights and references were loaded.
    raw = tiny_config(
        ethanol_file,
        epochs=1,
        learning_rate=1.0e-12,
        scheduler="none",
        ema_decay=0.0,
        init_from=str(first / "best.pt"),
    )
    second = train(write_config(tmp_path, raw))
    assert second.best_metric == pytest.approx(result.best_metric, rel=1e-9)
    state = load_checkpoint(tmp_path / "run" / "best.pt")["model_state"]
    for key in ("model.shift", "model.scale", "model.mean_energy"):
        torch.testing.assert_close(state[key], best["ema_state"][key], rtol=0, atol=0)
    log = (tmp_path / "run" / "train.log").read_text()
    assert f"starting from the EMA weights of {first / 'best.pt'} (epoch 2)" in log
    assert "optimizer and schedule start afresh" in log


def test_then_trains_with_its_own_settings(first_run, ethanol_file, tmp_path):
    result, first = first_run
    raw = tiny_config(ethanol_file, epochs=2, init_from=str(first / "last.pt"))
    raw["training"]["energy_weight"] = 100.0  # a second phase that favours energies
    second = train(write_config(tmp_path, raw))
    assert second.finished and second.epochs_completed == 2
    payload = load_checkpoint(tmp_path / "run" / "last.pt")
    assert payload["global_step"] == 20  # counted from zero, not from the first run's 20
    assert payload["config"]["training"]["energy_weight"] == 100.0


def test_a_different_model_is_refused_before_training(first_run, ethanol_file, tmp_path):
    _, first = first_run
    raw = tiny_config(ethanol_file, init_from=str(first / "best.pt"))
    raw["model"]["features"] = 8
    with pytest.raises(ConfigError, match=r"cannot start from .*\['features'\].*init_from"):
        train(write_config(tmp_path, raw))
    assert not (tmp_path / "run" / "last.pt").exists()


def test_a_missing_checkpoint_names_the_key_and_path_before_reading_data(
    ethanol_file, tmp_path, monkeypatch
):
    from hermnet.train import trainer

    def no_data(*args):
        raise AssertionError("the data were read before init_from was checked")

    monkeypatch.setattr(trainer, "load_training_data", no_data)
    raw = tiny_config(ethanol_file, init_from="nowhere/best.pt")
    with pytest.raises(CheckpointError, match=r"training.init_from: .*nowhere/best.pt does not"):
        train(write_config(tmp_path, raw))


def test_a_checkpoint_older_than_a_model_field_still_starts(first_run, ethanol_file, tmp_path):
    """A field added to the model section since (stored config lacks it) takes its default."""
    from hermnet.model.checkpoint import save_checkpoint

    _, first = first_run
    payload = load_checkpoint(first / "best.pt")
    del payload["model_config"]["norm_eps"]
    save_checkpoint(tmp_path / "old.pt", payload)
    raw = tiny_config(ethanol_file, epochs=1, init_from=str(tmp_path / "old.pt"))
    assert train(write_config(tmp_path, raw)).finished


def test_the_path_is_relative_to_the_config(ethanol_file, tmp_path):
    from hermnet.train import load_config

    raw = tiny_config(ethanol_file, init_from="../other/best.pt")
    (tmp_path / "configs").mkdir()
    cfg = load_config(write_config(tmp_path / "configs", raw))
    assert cfg.training.init_from == str(tmp_path / "other" / "best.pt")
    raw["training"]["init_from"] = 3
    with pytest.raises(ConfigError, match="training.init_from"):
        load_config(write_config(tmp_path, raw))
