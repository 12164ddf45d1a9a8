"""Issue 22, item 8: the benchmark recipes run on one's own data, with their time limit
and schedule, and relative paths follow one rule."""

import pytest
import yaml
from ase.io import write

from hermnet.cli.main import main
from hermnet.train import load_config
from hermnet.train.recipes import RECIPES, build_config, load_recipe, recipe_path
from tests.faults.helpers import config, frames


@pytest.fixture
def cu_data(tmp_path, monkeypatch):
    """train.extxyz, val.extxyz and test.extxyz of rattled Cu in the working folder."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "train.extxyz", frames(6))
    write(tmp_path / "val.extxyz", frames(2, seed=1))
    write(tmp_path / "test.extxyz", frames(2, seed=2))
    return tmp_path


@pytest.mark.parametrize("name", RECIPES)
def test_a_recipe_runs_on_any_data_with_its_time_limit_and_schedule(name, cu_data):
    config, notes = build_config(recipe=name, train=["train.extxyz"], test=["test.extxyz"])
    assert config.model.elements == ["Cu"]  # from the data, not the benchmark's
    assert notes == [
        "model.elements: ['Cu'], the elements of the training data (--elements sets them)"
    ]
    assert config.data.train == [str(cu_data / "train.extxyz")]  # from the working folder
    assert config.data.test == [str(cu_data / "test.extxyz")]
    assert config.training.max_time_minutes == config.training.schedule_minutes == 30
    assert config.training.scheduler == "cosine"
    assert config.output == cu_data / "runs" / name


def test_minutes_elements_validation_and_output_options(cu_data):
    config, notes = build_config(
        recipe="mlearn",
        train=["train.extxyz"],
        validation=["val.extxyz"],  # replaces the stratified share of train
        elements=["Ni", "Cu"],
        output="runs/cu",
        minutes=12,
        overrides=["training.learning_rate=1e-3", "output=elsewhere"],
    )
    assert notes == []
    assert config.model.elements == ["Ni", "Cu"]
    assert config.data.validation == [str(cu_data / "val.extxyz")]
    assert config.data.validation_fraction is None
    assert config.training.max_time_minutes == config.training.schedule_minutes == 12
    assert config.training.learning_rate == 1e-3
    assert config.output == cu_data / "elsewhere"  # --set with a recipe: the working folder


def test_a_non_cosine_schedule_keeps_the_time_limit_only(cu_data):
    config, _ = build_config(
        recipe="rmd17", train=["train.extxyz"], overrides=["training.scheduler=plateau"]
    )
    assert config.training.max_time_minutes == 30
    assert config.training.schedule_minutes is None


def test_a_recipe_needs_data(capsys):
    assert main(["train", "--recipe", "mlearn"]) == 2
    assert capsys.readouterr().err == (
        "hermnet: error: --recipe mlearn needs your data: --train FILE [FILE ...] (structures "
        "with energies and forces), and --test FILE to be evaluated at the end\n"
    )


def test_a_config_or_a_recipe_not_both(tmp_path, capsys):
    path = config(tmp_path, frames(4))
    assert main(["train", str(path), "--recipe", "water", "--train", "x.extxyz"]) == 2
    assert "give a training config file or --recipe NAME" in capsys.readouterr().err
    assert main(["train"]) == 2
    assert "one of them" in capsys.readouterr().err


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_file_is_plain_yaml_that_hermnet_train_reads(name, cu_data, capsys):
    """The old templates failed with a YAML error at their first `{placeholder}`."""
    assert main(["train", "--recipe", name, "--print-config"]) == 0
    text = capsys.readouterr().out
    assert text == recipe_path(name).read_text()
    (cu_data / "mine.yaml").write_text(text)
    fill = ["data.train=[train.extxyz]", "data.test=[test.extxyz]", "model.elements=[Cu]"]
    config = load_config(cu_data / "mine.yaml", fill)
    assert config.training.max_time_minutes == config.training.schedule_minutes == 30
    assert config.model.features == load_recipe(name)["model"]["features"]


def test_print_config_gives_the_complete_config_with_absolute_paths(cu_data, capsys):
    args = ["train", "--recipe", "rmd17", "--train", "train.extxyz", "--minutes", "5"]
    assert main([*args, "--print-config"]) == 0
    raw = yaml.safe_load(capsys.readouterr().out)
    assert raw["data"]["train"] == [str(cu_data / "train.extxyz")]
    assert raw["model"]["elements"] == ["Cu"]
    assert raw["training"]["max_time_minutes"] == raw["training"]["schedule_minutes"] == 5
    assert raw["output"] == str(cu_data / "runs" / "rmd17")
    assert not (cu_data / "runs").exists()  # nothing trained


def test_options_start_from_the_working_folder_with_a_config_file(tmp_path, monkeypatch):
    """The one rule: written in the file (or --set): the file's folder; options: here."""
    folder = tmp_path / "configs"
    folder.mkdir()
    path = config(folder, frames(4))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    write(work / "more.extxyz", frames(2))
    config_, _ = build_config(path, train=["more.extxyz"], overrides=["output=run2"])
    assert config_.data.train == [str(work / "more.extxyz")]
    assert config_.data.validation == [str(folder / "val.extxyz")]
    assert config_.output == folder / "run2"
    assert config_.model.elements == ["Cu"]  # written in the file: not replaced


@pytest.mark.slow
def test_hermnet_train_recipe_trains_on_ones_own_data(cu_data, capsys):
    args = ["train", "--recipe", "mlearn", "--train", "train.extxyz", "--test", "test.extxyz"]
    args += ["--output", "run", "--minutes", "0.05"]
    args += ["--set", "model.features=8", "--set", "model.layers=1", "--set", "training.epochs=3"]
    assert main(args) == 2  # the recipe splits by config_type, which these frames lack
    assert capsys.readouterr().err.endswith(
        "use validation_split: random (from the command line: --set data.validation_split=random)\n"
    )
    assert main([*args, "--set", "data.validation_split=random"]) == 0
    assert "model.elements: ['Cu'], the elements of the training data" in capsys.readouterr().err
    assert (cu_data / "run" / "best.pt").is_file()
    recorded = yaml.safe_load((cu_data / "run" / "config.yaml").read_text())
    assert recorded["training"]["max_time_minutes"] == 0.05
    assert recorded["data"]["validation_fraction"] == 0.05  # the recipe's own
