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
    python bench/accuracy/run.py table                                   # docs/results.md

Each run trains with the benchmark's config (bench/accuracy/configs/, placeholders filled
in), evaluates the best (EMA) checkpoint on the test set with `hermnet evaluate`'s code, and
writes bench/results/accuracy/<name>.json: the command, hardware, training time, config and
test errors. `table` rebuilds the table of docs/results.md from those files. Checkpoints
stay in runs/accuracy/ (not committed). --faithful trains the published form
(ModelConfig.faithful()) instead of the smooth default.
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

CONFIGS = ROOT / "bench" / "accuracy" / "configs"
RESULTS = ROOT / "bench" / "results" / "accuracy"
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
EV_PER_A3_IN_GPA = 160.21766208


def load_template(name: str, **fill) -> dict:
    text = (CONFIGS / f"{name}.yaml").read_text()
    for key, value in fill.items():
        text = text.replace("{" + key + "}", value)
    return yaml.safe_load(text)


def apply_override(raw: dict, override: str) -> None:
    """`section.key=value` (value parsed as YAML) into the config, for one-off experiments."""
    path, sep, value = override.partition("=")
    section, dot, key = path.partition(".")
    if not sep or not dot or section not in raw or not isinstance(raw[section], dict):
        sections = ", ".join(k for k, v in raw.items() if isinstance(v, dict))
        raise SystemExit(
            f"--set {override!r}: expected SECTION.KEY=VALUE with SECTION one of {sections}, "
            "e.g. --set training.weight_decay=0.01"
        )
    raw[section][key] = yaml.safe_load(value)


def configure(args) -> tuple[str, dict]:
    if args.benchmark == "rmd17":
        elements = "[" + ", ".join(RMD17_ELEMENTS[args.molecule]) + "]"
        raw = load_template("rmd17", molecule=args.molecule, elements=elements)
        name = f"rmd17_{args.molecule}"
    elif args.benchmark == "mlearn":
        raw = load_template("mlearn", element=args.element)
        name = f"mlearn_{args.element}"
    else:
        raw = load_template("water")
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
    raw["training"]["max_time_minutes"] = args.minutes
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
    for override in getattr(args, "set", None) or []:
        apply_override(raw, override)
    if raw["training"].get("scheduler", "cosine") == "cosine":
        # The cosine reaches its floor when --minutes are spent, however fast the machine.
        raw["training"]["schedule_minutes"] = args.minutes
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
        out["snap"] = [evaluate_snap(args.element, structures, q) for q in (False, True)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    write_json(path, out)
    print(json.dumps({"name": name, **test}, indent=1))
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="benchmark", required=True)
    runs = []
    runs.append(sub.add_parser("rmd17", help="one rMD17 molecule"))
    runs[-1].add_argument("--molecule", required=True, choices=RMD17)
    runs.append(sub.add_parser("mlearn", help="mlearn Si or Ge, with SNAP on the same test"))
    runs[-1].add_argument("--element", required=True, choices=["Si", "Ge"])
    runs.append(sub.add_parser("water", help="liquid water, DeePMD-kit example data"))
    for p in runs:
        p.add_argument("--minutes", type=float, default=30.0, help="training time limit")
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
    sub.add_parser("table", help="rebuild the table in docs/results.md")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    if args.benchmark == "table":
        from bench.accuracy.table import write_table

        write_table(RESULTS, ROOT / "docs" / "results.md")
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
