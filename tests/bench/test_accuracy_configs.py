"""Every accuracy benchmark's config is valid and points at data that exist (no training)."""

import argparse
import json

import pytest

from bench.accuracy.run import RMD17, ROOT, configure
from bench.accuracy.table import BEGIN, END, write_table
from hermnet.train.config import TrainConfig

DATA = ROOT.parent / "shared" / "data"
CASES = [("rmd17", {"molecule": m}) for m in RMD17]
CASES += [("mlearn", {"element": "Si"}), ("mlearn", {"element": "Ge"}), ("water", {})]


def args_for(benchmark, **extra):
    base = dict(variant=None, faithful=False, tag=None, minutes=1.0, device=None)
    base.update(epochs=None, scheduler=None, init_from=None)
    return argparse.Namespace(benchmark=benchmark, **{**base, **extra})


@pytest.mark.parametrize(("benchmark", "extra"), CASES)
def test_config_is_valid_and_data_exist(benchmark, extra):
    if not DATA.is_dir():
        pytest.skip(f"the shared datasets are not at {DATA}")
    name, raw = configure(args_for(benchmark, **extra))
    config = TrainConfig.from_dict(raw, base_dir=ROOT)
    for path in config.data.train + config.data.test:
        assert (ROOT / path).exists(), path
    assert config.training.max_time_minutes == 1.0
    assert str(config.output).endswith(f"runs/accuracy/{name}")


def test_variant_and_faithful_change_the_model_and_the_name():
    name, raw = configure(args_for("mlearn", element="Si", variant="pair", faithful=True))
    assert name == "mlearn_Si_pair_faithful"
    assert raw["model"]["variant"] == "pair"
    assert raw["model"]["readout"] == "pooled" and raw["model"]["aggregation"] == "mean"
    assert raw["model"]["features"] == 64  # the benchmark's size is kept


def test_table_is_rebuilt_between_the_markers(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    _, raw = configure(args_for("mlearn", element="Ge"))
    record = {
        "name": "mlearn_Ge",
        "benchmark": "mlearn",
        "command": "python bench/accuracy/run.py mlearn --element Ge",
        "hardware": {"cpu_count": 2},
        "training_minutes": 20.0,
        "epochs": 50,
        "config": raw,
        "test": {"energy_per_atom_mae_meV": 3.21, "forces_mae_meV_A": 98.7, "stress_mae_GPa": 0.2},
        "snap": [
            {"model": "SNAP linear", "energy_per_atom_mae": 0.008, "forces_mae": 0.2},
        ],
    }
    (results / "mlearn_Ge.json").write_text(json.dumps(record))
    doc = tmp_path / "results.md"
    doc.write_text(f"intro\n{BEGIN}\nold table\n{END}\noutro\n")
    write_table(results, doc)
    text = doc.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n")
    assert "old table" not in text
    row = "| mlearn_Ge | vertex painn2v F=64 L=3 float32 | 3.2 meV/atom | 98.7 meV/Å | 0.200 GPa"
    assert row in text
    assert "| mlearn_Ge | SNAP linear | 8.0 meV/atom | 200.0 meV/Å |" in text


def test_cosine_runs_decay_over_the_time_limit():
    """--scheduler cosine: the rate reaches its floor when --minutes are spent."""
    _, raw = configure(args_for("rmd17", molecule="ethanol", scheduler="cosine", epochs=5000))
    assert raw["training"]["scheduler"] == "cosine" and raw["training"]["epochs"] == 5000
    assert raw["training"]["schedule_minutes"] == raw["training"]["max_time_minutes"] == 1.0
    _, default = configure(args_for("rmd17", molecule="ethanol"))
    assert default["training"]["scheduler"] == "cosine"  # the shipped rMD17 default
    _, mlearn = configure(args_for("mlearn", element="Si"))
    assert mlearn["training"]["scheduler"] == "cosine"  # the shipped mlearn default too
    _, plateau = configure(args_for("mlearn", element="Si", scheduler="plateau"))
    assert "schedule_minutes" not in plateau["training"]


def test_init_from_names_the_other_runs_best_checkpoint(tmp_path, monkeypatch):
    import bench.accuracy.run as run

    with pytest.raises(SystemExit, match=r"runs/accuracy/nothing/best.pt does not exist"):
        configure(args_for("mlearn", element="Si", init_from="nothing"))
    (tmp_path / "runs" / "accuracy" / "mlearn_Si").mkdir(parents=True)
    (tmp_path / "runs" / "accuracy" / "mlearn_Si" / "best.pt").write_bytes(b"")
    monkeypatch.setattr(run, "ROOT", tmp_path)
    _, raw = configure(args_for("mlearn", element="Si", init_from="mlearn_Si", tag="phase2"))
    assert raw["training"]["init_from"] == "runs/accuracy/mlearn_Si/best.pt"
    assert raw["output"] == "runs/accuracy/mlearn_Si_phase2"


def test_group_errors_split_the_test_set_by_group():
    import numpy as np
    from ase.calculators.calculator import Calculator, all_changes

    from bench.accuracy.by_group import group_errors
    from hermnet.data.structure import Structure

    class Constant(Calculator):  # energy 1 eV per atom, forces 0.1 eV/Å along x
        implemented_properties = ("energy", "forces")

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            forces = np.zeros((len(atoms), 3))
            forces[:, 0] = 0.1
            self.results = {"energy": float(len(atoms)), "forces": forces}

    def structure(n: int, energy: float) -> Structure:
        positions = np.arange(3 * n, dtype=float).reshape(n, 3) * 2.0
        return Structure(
            numbers=np.full(n, 14),
            positions=positions,
            cell=np.eye(3) * 20.0,
            pbc=np.array([True] * 3),
            energy=energy,
            forces=np.zeros((n, 3)),
        )

    structures = [structure(2, 2.0), structure(4, 4.2), structure(3, 2.7)]
    table = group_errors(Constant(), structures, ["Bulk", "Bulk", "Surface"])
    assert list(table) == ["Bulk", "Surface"]
    assert table["Bulk"]["structures"] == 2
    assert table["Bulk"]["energy_per_atom_mae_meV"] == pytest.approx((0.0 + 50.0) / 2)
    assert table["Surface"]["energy_per_atom_mae_meV"] == pytest.approx(100.0)
    assert table["Surface"]["forces_mae_meV_A"] == pytest.approx(100.0 / 3)


@pytest.mark.parametrize(("benchmark", "extra"), CASES)
def test_each_benchmark_is_its_recipe_filled_in(benchmark, extra):
    """One source: run.py's model and training are hermnet train --recipe's."""
    from hermnet.train.recipes import load_recipe

    _, raw = configure(args_for(benchmark, **extra))
    recipe = load_recipe(benchmark)
    assert {k: v for k, v in raw["model"].items() if k != "elements"} == {
        k: v for k, v in recipe["model"].items() if k != "elements"
    }
    same = {k: v for k, v in raw["training"].items() if k in recipe["training"]}
    assert same == {**recipe["training"], "max_time_minutes": 1.0, "schedule_minutes": 1.0}


def test_any_molecule_or_element_with_its_data(tmp_path, monkeypatch):
    from ase.io import write

    from tests.faults.helpers import frames

    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.extxyz", frames(3))
    with pytest.raises(SystemExit, match=r"--molecule azobenzene: no shipped data"):
        configure(args_for("rmd17", molecule="azobenzene"))
    with pytest.raises(SystemExit, match=r"--train needs --test"):
        configure(args_for("rmd17", molecule="azobenzene", train=["a.extxyz"]))
    name, raw = configure(
        args_for("rmd17", molecule="azobenzene", train=["a.extxyz"], test=["a.extxyz"])
    )
    assert name == "rmd17_azobenzene"
    assert raw["model"]["elements"] == ["Cu"]  # read from the training data
    assert raw["data"]["train"] == [str(tmp_path / "a.extxyz")]  # from the working folder
    name, raw = configure(args_for("mlearn", element="Cu", data="datasets"))
    assert name == "mlearn_Cu" and raw["model"]["elements"] == ["Cu"]
    assert raw["data"]["train"] == [str(tmp_path / "datasets/mlearn/Cu/training.json")]
