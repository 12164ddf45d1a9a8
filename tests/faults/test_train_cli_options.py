"""`hermnet train`: a previous run's results are never replaced unasked; --set overrides."""

import csv

import pytest

from hermnet.cli.main import main
from hermnet.train import ConfigError, load_config
from tests.faults.helpers import config, frames


@pytest.fixture
def finished(tmp_path):
    """A folder with a run's results but no last.pt (as after deleting it to save space)."""
    path = config(tmp_path, frames(4), training={"epochs": 1})
    assert main(["train", str(path)]) == 0
    (tmp_path / "run" / "last.pt").unlink()
    return path


def test_a_run_without_last_pt_is_not_overwritten(finished, tmp_path, capsys):
    best = tmp_path / "run" / "best.pt"
    before = best.read_bytes()
    capsys.readouterr()
    assert main(["train", str(finished)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"hermnet: error: output folder {tmp_path / 'run'} already holds a run (best.pt, "
        "metrics.csv); choose another output folder, or pass --overwrite to replace its "
        "results\n"
    )
    assert best.read_bytes() == before


def test_overwrite_replaces_every_result(finished, tmp_path):
    (tmp_path / "run" / "test_metrics.json").write_text("{}")  # of the old run only
    assert main(["train", str(finished), "--overwrite", "--set", "training.epochs=2"]) == 0
    with (tmp_path / "run" / "metrics.csv").open() as handle:
        assert [int(r["epoch"]) for r in csv.DictReader(handle)] == [1, 2]
    assert not (tmp_path / "run" / "test_metrics.json").exists()
    assert "training from epoch 1/2" in (tmp_path / "run" / "train.log").read_text()
    assert (tmp_path / "run" / "train.log").read_text().count("training from") == 1


def test_resume_and_overwrite_together_are_refused(finished, capsys):
    assert main(["train", str(finished), "--resume", "--overwrite"]) == 2
    assert "--resume (continue the run) or --overwrite, not both" in capsys.readouterr().err


def test_a_run_that_failed_before_its_first_epoch_may_be_rerun(tmp_path):
    path = config(tmp_path, frames(4), training={"epochs": 1})
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.csv").write_text("epoch,lr\n")
    (tmp_path / "run" / "train.log").write_text("a failed start\n")
    assert main(["train", str(path)]) == 0


def test_set_overrides_and_resolves_like_the_file(tmp_path):
    path = config(tmp_path, frames(4))
    cfg = load_config(
        path,
        [
            "training.learning_rate=3e-4",
            "model.elements=[Cu, Ni]",
            "data.config_type_weights.Surface=5",
            "output=elsewhere",
        ],
    )
    assert cfg.training.learning_rate == 3e-4
    assert list(cfg.model.elements) == ["Cu", "Ni"]
    assert cfg.data.config_type_weights == {"Surface": 5}
    assert cfg.output == (tmp_path / "elsewhere").resolve()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "training.learnng_rate=1",
            "unknown key 'learnng_rate' in section 'training'; did you mean 'learning_rate'?",
        ),
        ("trainng.epochs=1", "unknown section 'trainng'; did you mean 'training'?"),
        ("training.epochs", "expected SECTION.KEY=VALUE"),
        ("epochs=3", "expected SECTION.KEY=VALUE"),
        ("training.epochs=[1", "the value is not valid YAML"),
    ],
)
def test_set_errors_name_the_override(tmp_path, override, message):
    path = config(tmp_path, frames(2))
    with pytest.raises(ConfigError) as info:
        load_config(path, [override])
    assert f"--set {override!r}" in str(info.value) and message in str(info.value)


def test_set_values_are_checked_like_the_file(tmp_path):
    in_file = config(tmp_path, frames(2), training={"epochs": 0})
    with pytest.raises(ConfigError) as from_file:
        load_config(in_file)
    from_set = config(tmp_path, frames(2))
    with pytest.raises(ConfigError) as from_command_line:
        load_config(from_set, ["training.epochs=0"])
    assert str(from_command_line.value) == str(from_file.value)
