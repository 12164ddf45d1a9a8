"""Stage two: other loss weights for the last part of a run, best.pt chosen among its epochs."""

import csv

import pytest
import torch

from hermnet.model.checkpoint import load_checkpoint
from hermnet.train import ConfigError, train
from hermnet.train import trainer as trainer_module
from hermnet.train.config import TrainingConfig
from hermnet.train.loss import LossWeights
from hermnet.train.stage_two import run_progress, stage_two_weights
from tests.train.test_train_run import final_weights

STAGE_TWO = dict(stage_two_start=0.5, stage_two_energy_weight=1000.0)


def rows(path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def at_each_epoch(monkeypatch, read) -> list[tuple[int, object]]:
    """(epoch, read(trainer)) at the start of every training epoch, resumed ones included."""
    seen = []
    original = trainer_module._Trainer._train_epoch

    def spy(self):
        seen.append((self.epoch + 1, read(self)))
        return original(self)

    monkeypatch.setattr(trainer_module._Trainer, "_train_epoch", spy)
    return seen


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(stage_two_energy_weight=1000.0), "stage_two_start is not"),
        (dict(stage_two_start=0.75), "no stage_two_energy_weight"),
        (dict(stage_two_start=1.0, stage_two_energy_weight=1.0), "share of the run in (0, 1)"),
        (dict(stage_two_start=0.5, stage_two_force_weight=-1.0), "finite number >= 0"),
        (
            dict(stage_two_start=0.5, stage_two_energy_weight=0.0, stage_two_force_weight=0.0),
            "all zero",
        ),
    ],
)
def test_stage_two_config_errors_name_the_fix(options, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainingConfig(**options).validate()


def test_stage_two_weights_keep_stage_one_where_unset():
    opts = TrainingConfig(stage_two_start=0.5, stage_two_energy_weight=1000.0)
    first = LossWeights(100.0, 10.0, 5.0, huber_delta=0.01)
    assert stage_two_weights(opts, first) == LossWeights(1000.0, 10.0, 5.0, huber_delta=0.01)


def test_run_progress_follows_the_nearer_limit():
    assert run_progress(3, 4, 0.0, 0.0, None, None) == 0.75
    # a time budget nearer than the epochs: 30 of 60 minutes trained, over resumes
    assert run_progress(1, 5000, 1800.0, 60.0, 60.0, 60.0) == 0.5
    # without schedule_minutes, this process's own clock against max_time_minutes
    assert run_progress(1, 5000, 1800.0, 900.0, None, 60.0) == 0.25
    assert run_progress(9, 4, 0.0, 0.0, None, None) == 1.0


def test_stage_two_changes_the_loss_and_what_best_pt_follows(make_config, tmp_path):
    plain = train(make_config(name="a.yaml", output="plain", epochs=4))
    staged = train(make_config(name="b.yaml", output="staged", epochs=4, **STAGE_TWO))
    assert plain.finished and staged.finished
    log = (tmp_path / "staged" / "train.log").read_text()
    assert "stage two from epoch 3: loss weights energy 1000, forces 10" in log

    plain_rows, staged_rows = (
        rows(tmp_path / "plain" / "metrics.csv"),
        rows(tmp_path / "staged" / "metrics.csv"),
    )
    # stage one is the plain run, step for step; stage two trains something else
    for before, after in zip(plain_rows[:2], staged_rows[:2], strict=True):
        assert before["train_loss"] == after["train_loss"]
    assert staged_rows[2]["train_loss"] != plain_rows[2]["train_loss"]
    # the validation loss of stage-two epochs is the stage-two weighted sum (metrics.csv
    # keeps 7 digits)
    for row in staged_rows[2:]:
        expected = 1000.0 * float(row["val_energy_rmse"]) ** 2
        expected += 10.0 * float(row["val_force_rmse"]) ** 2
        assert float(row["val_loss"]) == pytest.approx(expected, rel=1e-5)

    best = load_checkpoint(tmp_path / "staged" / "best.pt")
    assert best["stage"] == 2 and best["best_metric_name"] == "validation loss"
    assert staged.best_epoch in (3, 4)
    losses = {int(row["epoch"]): float(row["val_loss"]) for row in staged_rows[2:]}
    assert best["best_metric"] == pytest.approx(min(losses.values()), rel=1e-5)
    assert load_checkpoint(tmp_path / "plain" / "best.pt")["stage"] == 1


def test_resume_inside_stage_two_is_exact(make_config, tmp_path):
    """Stopped after every step and resumed: the stage and its weights come back."""
    # schedule_minutes far beyond the run: progress (and the cosine) follow the epochs
    options = dict(epochs=2, batch_size=34, schedule_minutes=1000.0, **STAGE_TWO)
    reference = train(make_config(name="a.yaml", output="full", **options))
    assert reference.finished
    config = make_config(name="b.yaml", output="pieces", max_time_minutes=1e-9, **options)
    result = train(config)
    while not result.finished:
        result = train(config, resume=True)
    full, pieces = (
        final_weights(tmp_path / "full" / "last.pt"),
        final_weights(tmp_path / "pieces" / "last.pt"),
    )
    for key, value in full.items():
        assert torch.equal(value, pieces[key]), key
    assert result.best_epoch == reference.best_epoch == 2
    assert result.best_metric == reference.best_metric
    assert load_checkpoint(tmp_path / "pieces" / "last.pt")["stage"] == 2


def test_stage_two_can_start_the_optimizer_moments_afresh(make_config, tmp_path, monkeypatch):
    """Adam's second moment holds stage one's gradient scale; stage two's is far larger."""

    def adam_steps(trainer) -> float:
        state = trainer.optimizer.state
        return max((float(s["step"]) for s in state.values() if "step" in s), default=0.0)

    seen = at_each_epoch(monkeypatch, adam_steps)
    train(make_config(output="fresh", epochs=4, stage_two_fresh_optimizer=True, **STAGE_TWO))
    # 10 steps per epoch: moments of 0, 10 steps, then none again when stage two begins
    assert seen == [(1, 0.0), (2, 10.0), (3, 0.0), (4, 10.0)]
    seen.clear()
    train(make_config(name="kept.yaml", output="kept", epochs=4, **STAGE_TWO))
    assert seen == [(1, 0.0), (2, 10.0), (3, 20.0), (4, 30.0)]


def test_resume_inside_stage_two_keeps_the_plateau_best(make_config, tmp_path, monkeypatch):
    """The plateau schedule forgets stage one's best at the switch, not at every resume."""
    seen = at_each_epoch(monkeypatch, lambda trainer: (trainer.out.name, trainer.schedule.best))
    # progress by epochs alone, not the pieces' tiny time limit: stage two is epochs 3 and 4
    monkeypatch.setattr(trainer_module, "run_progress", lambda done, epochs, *_: done / epochs)
    options = dict(epochs=4, batch_size=34, scheduler="plateau", **STAGE_TWO)
    train(make_config(name="a.yaml", output="full", **options))
    config = make_config(name="b.yaml", output="pieces", max_time_minutes=1e-9, **options)
    result = train(config)
    while not result.finished:
        result = train(config, resume=True)
    full = {epoch: best for epoch, (run, best) in seen if run == "full"}
    assert full[3] == float("inf") and full[4] < float("inf")  # reset at the switch only
    pieces = [(epoch, best) for epoch, (run, best) in seen if run == "pieces"]
    assert pieces
    for epoch, best in pieces:
        assert best == full[epoch], epoch
