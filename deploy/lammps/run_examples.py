"""Run the LAMMPS examples of this folder: ethanol NVT, alloy NPT, alloy + ZBL overlay.

    .venv/bin/python deploy/lammps/run_examples.py [--model m.pt] [--nprocs 2] [--out DIR]

Writes the data files (ethanol.data, alloy.data, alloy_ar.data) and model.pt into --out,
runs each in.* file there with `lmp` (or `mpirun -np N lmp`) and prints the wall time and
the share of the step spent in the pair style. Without --model an untrained example model
over H, C, O, Al, Fe, Ni, Cu is exported: it checks the set-up and the timings, not physics.
Each example takes well under a minute on 2 CPU cores.
"""

import argparse
import re
import shutil
import time
from pathlib import Path

import numpy as np
from ase.build import bulk, molecule

from hermnet.lammps.data import lammps_frame, write_data
from hermnet.lammps.run import run_lammps

HERE = Path(__file__).resolve().parent
ELEMENTS = ["H", "C", "O", "Al", "Fe", "Ni", "Cu"]
ALLOY = ["Al", "Fe", "Ni", "Cu"]
EXAMPLES = ["in.molecule_nvt", "in.alloy_npt", "in.alloy_zbl"]


def example_model(path: Path) -> None:
    """An untrained, smooth, float64 vertex model (F = 16, 2 layers, cutoff 4.5 Å)."""
    import torch

    from hermnet.data.structure import Structure
    from hermnet.export import export_potential
    from hermnet.model import ModelConfig, build_model

    torch.manual_seed(0)
    config = ModelConfig(
        elements=ELEMENTS,
        variant="vertex",
        features=16,
        radial_basis=8,
        layers=2,
        cutoff=4.5,
        norm_eps=1e-2,
        dtype="float64",
    )
    potential = build_model(config).eval()
    frame = bulk("Cu", "fcc", a=3.6, cubic=True)
    frame.set_chemical_symbols(["Al", "Fe", "Ni", "Cu"])
    structure = Structure(
        numbers=frame.numbers, positions=frame.positions, cell=frame.cell.array, pbc=frame.pbc
    )
    export_potential(potential, config, path, structure, training_data="untrained example")


def write_structures(out: Path) -> None:
    ethanol = molecule("CH3CH2OH")
    ethanol.center(vacuum=12.5)
    ethanol.pbc = True
    write_data(out / "ethanol.data", lammps_frame(ethanol), ["H", "C", "O"])

    rng = np.random.default_rng(0)
    alloy = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    alloy.set_chemical_symbols(rng.choice(ALLOY, size=len(alloy)))
    alloy.rattle(0.05, seed=1)
    alloy = lammps_frame(alloy)
    write_data(out / "alloy.data", alloy, ALLOY)
    symbols = alloy.get_chemical_symbols()
    symbols[0] = "Ar"
    alloy.set_chemical_symbols(symbols)
    write_data(out / "alloy_ar.data", alloy, [*ALLOY, "Ar"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="an exported model (default: untrained)")
    parser.add_argument("--nprocs", type=int, default=1, help="MPI ranks per example")
    parser.add_argument("--out", type=Path, default=Path("lammps_out"))
    parser.add_argument("examples", nargs="*", default=EXAMPLES)
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    if args.model:
        shutil.copy(args.model, args.out / "model.pt")
    else:
        example_model(args.out / "model.pt")
    write_structures(args.out)
    for name in args.examples:
        start = time.perf_counter()
        run = run_lammps((HERE / name).read_text(), args.out, nprocs=args.nprocs, name=name)
        seconds = time.perf_counter() - start
        shutil.copy(args.out / "log.lammps", args.out / f"log.{name[3:]}")
        pair = re.search(r"^Pair\s*\|.*\|\s*([\d.]+)\s*$", run.output, re.M)
        rate = re.search(r"Performance: .*?([\d.]+) timesteps/s", run.output)
        print(
            f"{name}: {seconds:.1f} s wall, {rate.group(1) if rate else '?'} steps/s, "
            f"pair style {pair.group(1) if pair else '?'} % of the loop "
            f"(log: {args.out / ('log.' + name[3:])})"
        )


if __name__ == "__main__":
    main()
