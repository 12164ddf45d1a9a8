"""Learning-rate schedules: cosine over a time budget (training.schedule_minutes)."""

import csv

import pytest

from hermnet.train import ConfigError, load_config, train
from hermnet.train.schedule import LRSchedule


def test_fit_time_ends_the_cosine_when_the_budget_is_spent():
    schedule = LRSchedule("cosine", 1e-3, total_steps=1000, lr_min=1e-6)
    # 100 steps in 10 s (0.1 s per step) of a 20 s budget: 100 steps remain.
    schedule.fit_time(100, seconds_done=10.0, seconds_per_step=0.1, budget=20.0)
    assert schedule.total_steps == 200
    assert schedule.lr(100) == pytest.approx(1e-6 + 0.5 * (1e-3 - 1e-6))  # half way
    assert schedule.lr(200) == pytest.approx(1e-6)
    assert schedule.lr(500) == pytest.approx(1e-6)
    # A budget longer than the epochs: the epochs decide.
    schedule.fit_time(100, seconds_done=10.0, seconds_per_step=0.1, budget=1e6)
    assert schedule.total_steps == 1000
    # The fitted length survives a checkpoint.
    schedule.fit_time(100, seconds_done=10.0, seconds_per_step=0.1, budget=30.0)
    resumed = LRSchedule("cosine", 1e-3, total_steps=1000, lr_min=1e-6)
    resumed.load_timed_state(schedule.state_dict())
    assert resumed.total_steps == 300 and resumed.lr(250) == schedule.lr(250)


def test_schedule_minutes_needs_cosine(make_config):
    with pytest.raises(ConfigError, match="schedule_minutes.*scheduler: cosine"):
        load_config(make_config(scheduler="plateau", schedule_minutes=5.0))


def epoch_rates(folder) -> list[float]:
    with (folder / "metrics.csv").open() as handle:
        return [float(row["lr"]) for row in csv.DictReader(handle)]


def test_a_spent_budget_drops_the_rate_to_its_floor(make_config, tmp_path):
    """A budget that the first epoch already spends: every later epoch runs at lr_min,
    where the same run without a budget still decays over its epochs."""
    common = dict(epochs=3, lr_min=1e-5, warmup_epochs=0)
    train(make_config(name="t.yaml", output="timed", schedule_minutes=1e-6, **common))
    train(make_config(name="e.yaml", output="epochs", **common))
    timed, by_epochs = epoch_rates(tmp_path / "timed"), epoch_rates(tmp_path / "epochs")
    assert timed[1:] == pytest.approx([1e-5, 1e-5])
    assert by_epochs[1] > 10 * 1e-5
