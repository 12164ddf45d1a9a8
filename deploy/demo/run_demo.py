"""End-to-end demo: rMD17 ethanol -> training -> evaluation -> ASE MD -> report.

    .venv/bin/python deploy/demo/run_demo.py --out demo_out [--minutes 4]

Trains a small HermNet on the 1000 frames of rMD17 ethanol split 01 (950 train, 50
validation) for a few minutes on the CPU, evaluates the best checkpoint on the 1000 test
frames, runs 1 ps of NVE molecular dynamics with the ASE calculator and writes
`report.md` with the metrics, plots and energy drift.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]


def shared_data() -> Path:
    path = Path(os.environ.get("HERMNET_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not (path / "rmd17").is_dir():
        sys.exit(f"demo: rMD17 data not found under {path}; set HERMNET_SHARED_DATA")
    return path


def hermnet(*args: str) -> None:
    cmd = [sys.executable, "-m", "hermnet.cli.main", *args]
    print("+ hermnet", " ".join(args), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def write_config(out: Path, data: Path, minutes: float) -> Path:
    config = {
        "model": {
            "variant": "vertex",
            "elements": ["H", "C", "O"],
            "cutoff": 5.0,
            "features": 64,
            "radial_basis": 16,
            "layers": 3,
            "dtype": "float32",
        },
        "data": {
            "train": [str(data / "rmd17" / "rmd17_ethanol_train_01.npz")],
            "validation_fraction": 0.05,
        },
        "training": {
            "epochs": 1000,  # the time limit below ends training first
            "batch_size": 8,
            "learning_rate": 2.0e-3,
            "scheduler": "plateau",
            "patience": 5,
            "energy_weight": 1.0,
            "force_weight": 10.0,
            "ema_decay": 0.99,
            "seed": 0,
            "device": "cpu",
            # One thread: batches of 8 small molecules gain little from a second one, and
            # two threads on a busy 2-core machine can run 100x slower (spinning waits).
            "num_threads": 1,
            "max_time_minutes": minutes,
        },
        "output": str(out / "run"),
    }
    path = out / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_md(checkpoint: Path, data: Path, steps: int = 2000) -> dict:
    """NVE with the trained model from a test frame: total-energy drift per atom."""
    import torch
    from ase import Atoms, units
    from ase.md import velocitydistribution
    from ase.md.verlet import VelocityVerlet

    from hermnet.calculators import HermNetCalculator

    torch.set_num_threads(1)  # a 9-atom molecule: threads only add synchronisation

    npz = np.load(data / "rmd17" / "rmd17_ethanol_test_01.npz")
    atoms = Atoms(numbers=npz["nuclear_charges"], positions=npz["coords"][0])
    atoms.calc = HermNetCalculator(model=str(checkpoint))
    # thermalize_momenta replaces MaxwellBoltzmannDistribution from ASE 3.29 on.
    thermalize = getattr(
        velocitydistribution,
        "thermalize_momenta",
        velocitydistribution.MaxwellBoltzmannDistribution,
    )
    thermalize(atoms, temperature_K=300, rng=np.random.default_rng(0))
    dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    energies = []
    dyn.attach(lambda: energies.append(atoms.get_total_energy()), interval=10)
    start = time.perf_counter()
    dyn.run(steps)
    seconds = time.perf_counter() - start
    energies = np.array(energies)
    return {
        "steps": steps,
        "timestep_fs": 0.5,
        "seconds": seconds,
        "steps_per_second": steps / seconds,
        "energy_drift_meV_per_atom": float((energies[-1] - energies[0]) / len(atoms) * 1e3),
        "energy_fluctuation_meV_per_atom": float(energies.std() / len(atoms) * 1e3),
    }


def write_report(out: Path, timings: dict, metrics: dict, md: dict) -> Path:
    test = metrics["datasets"][0]
    lines = [
        "# HermNet demo: rMD17 ethanol",
        "",
        f"Training: {timings['train_minutes']:.1f} min on CPU ({os.cpu_count()} cores); "
        "950 training and 50 validation frames of split 01; small vertex model "
        "(F = 64, l = 16, L = 3, r_c = 5 Å, float32). Config: `config.yaml`.",
        "",
        "## Test set (1000 frames of rmd17_ethanol_test_01)",
        "",
        "| quantity | MAE | RMSE |",
        "|---|---|---|",
        f"| energy (meV/atom) | {test['energy_per_atom_mae'] * 1e3:.2f} | "
        f"{test['energy_per_atom_rmse'] * 1e3:.2f} |",
        f"| forces (meV/Å) | {test['forces_mae'] * 1e3:.1f} | {test['forces_rmse'] * 1e3:.1f} |",
        "",
        "![energy parity](eval/" + Path(test["plots"]["energy"]).name + ")",
        "![force parity](eval/" + Path(test["plots"]["forces"]).name + ")",
        "![learning curve](run/learning_curve.png)",
        "",
        "## NVE molecular dynamics with the ASE calculator",
        "",
        f"{md['steps']} steps of {md['timestep_fs']} fs at 300 K: "
        f"{md['steps_per_second']:.0f} steps/s; total-energy drift "
        f"{md['energy_drift_meV_per_atom']:.3f} meV/atom, fluctuation "
        f"{md['energy_fluctuation_meV_per_atom']:.3f} meV/atom.",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    (out / "summary.json").write_text(
        json.dumps({"timings": timings, "test": test, "md": md}, indent=2)
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "demo_out")
    parser.add_argument("--minutes", type=float, default=4.0, help="training time budget")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = shared_data()

    config = write_config(out, data, args.minutes)
    start = time.perf_counter()
    hermnet("train", str(config))
    timings = {"train_minutes": (time.perf_counter() - start) / 60}
    best = out / "run" / "best.pt"
    test_file = data / "rmd17" / "rmd17_ethanol_test_01.npz"
    hermnet("evaluate", str(best), str(test_file), "--out", str(out / "eval"))
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    md = run_md(best, data)
    report = write_report(out, timings, metrics, md)
    print(f"demo: report written to {report}")


if __name__ == "__main__":
    main()
