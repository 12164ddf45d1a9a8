"""Training config: keys, types, values, paths; nothing is written when it is wrong."""

from pathlib import Path

import pytest
import torch

from hermnet.cli.main import main
from hermnet.data import DataError
from hermnet.model.checkpoint import CheckpointError
from hermnet.train import ConfigError, TrainConfig, load_config, train
from tests.train.conftest import tiny_config, write_config

BASE = {
    "model": {"elements": ["Cu", "Ni"], "features": 16},
    "data": {"train": ["data/*.xyz"]},
}


def from_dict(raw: dict, base: str = "/configs") -> TrainConfig:
    return TrainConfig.from_dict(raw, base_dir=base, source=f"{base}/cfg.yaml")


def with_section(section: str, **values) -> dict:
    raw = {key: dict(value) for key, value in BASE.items()}
    raw.setdefault(section, {}).update(values)
    return raw


def test_defaults_and_relative_paths():
    cfg = from_dict({**BASE, "training": {"learning_rate": "1e-3"}, "output": "runs/a"})
    assert cfg.data.train == ["/configs/data/*.xyz"]  # relative to the config, glob kept
    assert cfg.data.validation_fraction == 0.05
    assert cfg.output == Path("/configs/runs/a")
    assert cfg.training.learning_rate == 1e-3  # YAML 1.1 reads 1e-3 as a string
    assert (cfg.training.epochs, cfg.training.batch_size, cfg.training.scheduler) == (
        100,
        16,
        "cosine",
    )
    assert cfg.model.features == 16 and cfg.model.variant == "vertex"
    assert TrainConfig.from_dict(cfg.to_dict(), base_dir="/elsewhere").data.train == cfg.data.train


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (
            with_section("training", learning_rat=1e-3),
            ["learning_rat", "training", "learning_rate"],
        ),
        (with_section("model", featurs=8), ["featurs", "model", "features"]),
        (with_section("data", validaton=["a.xyz"]), ["validaton", "data", "validation"]),
        ({**BASE, "trainig": {}}, ["trainig", "top level", "training"]),
    ],
)
def test_unknown_key_is_named_with_suggestion(raw, words):
    with pytest.raises(ConfigError) as info:
        from_dict(raw)
    message = str(info.value)
    for word in words:
        assert word in message
    assert "did you mean" in message


@pytest.mark.parametrize(
    ("section", "values", "words"),
    [
        ("training", {"batch_size": "many"}, ["training.batch_size", "integer"]),
        ("training", {"epochs": 2.5}, ["training.epochs", "integer"]),
        ("training", {"compile": "yes"}, ["training.compile", "true or false"]),
        ("training", {"epochs": 0}, ["training.epochs", "positive"]),
        ("training", {"ema_decay": 1.5}, ["training.ema_decay"]),
        ("training", {"scheduler": "cosin"}, ["training.scheduler", "cosine"]),
        ("training", {"device": "gpu"}, ["training.device"]),
        ("training", {"force_weight": -1}, ["training.force_weight"]),
        ("training", {"best_metric": "force"}, ["training.best_metric", "force_mae"]),
        ("training", {"best_metric": "stress_mae"}, ["stress_weight is 0", "'loss'"]),
        ("training", {"loss": "l2"}, ["training.loss", "'mse'"]),
        ("training", {"loss": "huber", "huber_delta": 0}, ["training.huber_delta", "positive"]),
        ("model", {"variant": "vertx"}, ["model.variant"]),
        ("model", {"features": "big"}, ["model.features", "integer"]),
        ("data", {"validation_fraction": 1.5}, ["validation_fraction"]),
        ("data", {"validation": ["v.xyz"], "validation_fraction": 0.1}, ["not both"]),
        ("data", {"train": []}, ["data.train"]),
    ],
)
def test_bad_value_is_explained(section, values, words):
    with pytest.raises(ConfigError) as info:
        from_dict(with_section(section, **values))
    for word in words:
        assert word in str(info.value)


def test_yaml_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(tmp_path / "list.yaml")


def test_config_error_writes_nothing_and_cli_exits_2(tmp_path, capsys):
    raw = tiny_config(Path("x.npz"))
    raw["training"]["learning_rat"] = 1.0
    path = write_config(tmp_path, raw)
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hermnet: error: unknown key 'learning_rat'")
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_missing_data_file_writes_nothing(tmp_path):
    path = write_config(tmp_path, tiny_config(tmp_path / "nowhere.npz"))
    with pytest.raises(DataError, match="nowhere.npz"):
        train(path)
    assert not (tmp_path / "run").exists()


def test_glob_matching_nothing(tmp_path):
    path = write_config(tmp_path, tiny_config(Path("no_such_folder/*.extxyz")))
    with pytest.raises(DataError, match="matches no file"):
        train(path)
    assert not (tmp_path / "run").exists()


def test_empty_dataset_writes_nothing(tmp_path):
    (tmp_path / "empty.extxyz").write_text("")
    path = write_config(tmp_path, tiny_config(Path("empty.extxyz")))
    with pytest.raises(DataError):
        train(path)
    assert not (tmp_path / "run").exists()


def test_element_missing_from_model(tmp_path, ethanol_file):
    raw = tiny_config(ethanol_file)
    raw["model"]["elements"] = ["H", "C"]
    with pytest.raises(DataError, match=r"\['O'\]"):
        train(write_config(tmp_path, raw))
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda(tmp_path):
    raw = tiny_config(Path("x.npz"), device="cuda")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        train(write_config(tmp_path, raw))
    assert not (tmp_path / "run").exists()


def test_resume_without_checkpoint(tmp_path):
    path = write_config(tmp_path, tiny_config(Path("x.npz")))
    with pytest.raises(CheckpointError, match="last.pt does not exist"):
        train(path, resume=True)
    assert main(["train", str(path), "--resume"]) == 2


@pytest.mark.parametrize(
    ("weights", "words"),
    [
        ([5.0], ["data.config_type_weights", "must be a mapping", "Surface"]),
        ({"Surface": -1.0}, ["config_type_weights['Surface']", ">= 0"]),
        ({"Surface": float("nan")}, ["config_type_weights['Surface']", ">= 0"]),
        ({"Surface": "heavy"}, ["config_type_weights['Surface']", "'heavy'"]),
    ],
)
def test_config_type_weights_are_checked(tmp_path, ethanol_file, weights, words):
    raw = tiny_config(ethanol_file)
    raw["data"]["config_type_weights"] = weights
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, raw))
    for word in words:
        assert word in str(info.value)


def test_config_type_weights_read_yaml_numbers(tmp_path, ethanol_file):
    raw = tiny_config(ethanol_file)
    raw["data"]["config_type_weights"] = {"Surface": "1e3", "Bulk": 2}  # YAML 1.1: 1e3 is a str
    assert load_config(write_config(tmp_path, raw)).data.config_type_weights == {
        "Surface": 1000.0,
        "Bulk": 2.0,
    }


def test_config_type_weights_reach_the_graphs_of_train_and_validation(tmp_path, ethanol_file):
    """mlearn groups are the kinds; a kind absent from the training set is refused."""
    from hermnet.data.batch import collate
    from hermnet.train.data import load_training_data

    shared_si = ethanol_file.parents[1] / "mlearn" / "Si" / "training.json"
    if not shared_si.is_file():
        pytest.skip(f"{shared_si} not found")
    raw = tiny_config(shared_si)
    raw["model"]["elements"] = ["Si"]
    raw["data"] = {"train": [str(shared_si)], "config_type_weights": {"Surface": 5, "Elastic": 0}}
    data = load_training_data(load_config(write_config(tmp_path, raw)), torch.float64)
    for dataset in (data.train, data.validation):
        for structure, graph in zip(dataset.structures, dataset.graphs, strict=True):
            expected = {"Surface": 5.0, "Elastic": 0.0}.get(structure.config_type, 1.0)
            assert graph.weight == expected, structure.config_type
    assert "loss weights by config_type" in data.description
    kinds = [s.config_type for s in data.train.structures]
    picked = [kinds.index("Surface"), kinds.index("Elastic"), kinds.index("AIMD-NVT")]
    batch = collate([data.train.graphs[i] for i in picked]).to("cpu")
    torch.testing.assert_close(batch.weight, torch.tensor([5.0, 0.0, 1.0], dtype=torch.float64))
    assert collate([data.train.graphs[picked[2]]]).weight is None  # all 1: nothing to weigh
    raw["data"]["config_type_weights"] = {"Surfaces": 5}
    with pytest.raises(DataError, match=r"\['Surfaces'\].*'AIMD-NVT', 'Elastic', 'Surface'"):
        load_training_data(load_config(write_config(tmp_path, raw)), torch.float64)


def test_validation_split_is_checked(tmp_path, ethanol_file):
    raw = tiny_config(ethanol_file)
    raw["data"]["validation_split"] = "by_kind"
    with pytest.raises(ConfigError, match="validation_split must be one of random, stratified"):
        load_config(write_config(tmp_path, raw))
    raw["data"] = {"train": [str(ethanol_file)], "validation": [str(ethanol_file)]}
    raw["data"]["validation_split"] = "stratified"
    with pytest.raises(ConfigError, match="gives files of its own"):
        load_config(write_config(tmp_path, raw))


def test_stratified_split_needs_kinds_and_puts_each_in_validation(tmp_path, ethanol_file):
    from hermnet.train.data import load_training_data

    raw = tiny_config(ethanol_file)
    raw["data"]["validation_split"] = "stratified"
    with pytest.raises(DataError, match="needs a config_type.*validation_split: random"):
        load_training_data(load_config(write_config(tmp_path, raw)), torch.float64)
    shared_si = ethanol_file.parents[1] / "mlearn" / "Si" / "training.json"
    if not shared_si.is_file():
        pytest.skip(f"{shared_si} not found")
    raw["model"]["elements"] = ["Si"]
    raw["data"] = {"train": [str(shared_si)], "validation_split": "stratified"}
    data = load_training_data(load_config(write_config(tmp_path, raw)), torch.float64)
    kinds = sorted(s.config_type for s in data.validation.structures)
    assert kinds == ["AIMD-NVT"] * 4 + ["Elastic"] * 3 + ["Surface"] + ["Vacancy"] * 3
    assert "AIMD-NVT 4, Elastic 3, Surface 1, Vacancy 3" in data.description
