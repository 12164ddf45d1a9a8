"""Time per MD step: the C++ core (pybind11) versus pair_style hermnet in LAMMPS (1 and 2 ranks).

Structure: 4,000-atom equiatomic CoCrFeNi fcc (a = 3.56 Å, 10x10x10 cubic cells, random
species, 0.05 Å rattle). Model: untrained vertex HermNet exported as float32.

Paths (energy + forces + virial every step, torch threads = 1 per process):
  core      hermnet.export.load_core(...).evaluate(..., compute_virial=True), after warm-up
  lammps-1  .venv/bin/lmp, NVE with dt = 1e-6 ps; a warm-up `run W`, then a timed `run N`;
            Pair time and Loop time are read from the log of the timed run
  lammps-2  the same under `mpirun -np 2`

Overhead ratio = LAMMPS 1-rank loop time per step / core time per step (target < 1.10).

On 2 ranks the plugin exchanges ghost features after every hop (`ghosts exchange`, the
default on several ranks), so each rank computes its atoms plus a one-cutoff ghost shell.
--chunk-edges N runs both the core and LAMMPS with chunked evaluation (`chunk N`).

    .venv/bin/python bench/lammps_vs_core.py                 # default + reduced model
    .venv/bin/python bench/lammps_vs_core.py --only reduced  # quick
    .venv/bin/python bench/lammps_vs_core.py --only default --chunk-edges 20000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.alloy import ELEMENTS, cocrfeni, export_untrained  # noqa: E402
from bench.lammps_runner import run_bench  # noqa: E402
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MODELS = {
    "default": dict(features=128, radial_basis=30, layers=4, cutoff=5.0),
    "reduced": dict(features=64, radial_basis=30, layers=2, cutoff=5.0),
    "l1": dict(features=64, radial_basis=30, layers=1, cutoff=5.0),
}


def time_core(
    path: Path, atoms, warmup: int, steps: int, chunk_edges: int, device: str = "cpu"
) -> dict:
    import torch

    from hermnet.export import load_core

    torch.set_num_threads(1)
    core = load_core(path, device)
    core.core.chunk_edges = chunk_edges
    args = (atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
    for _ in range(warmup):
        core.evaluate(*args, compute_virial=True)
    samples = []
    for _ in range(steps):
        start = time.perf_counter()
        out = core.evaluate(*args, compute_virial=True)
        samples.append(time.perf_counter() - start)
    assert np.isfinite(np.asarray(out["forces"])).all()
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "samples": samples,
        "warmup_calls": warmup,
        "call": "load_core(model).evaluate(positions, numbers, cell, pbc, compute_virial=True)",
    }


SCRIPT = """units metal
atom_style atomic
boundary p p p
read_data data.lmp
pair_style hermnet {model} {options}
pair_coeff * * {elements}
neighbor 1.0 bin
neigh_modify every 1 delay 0 check yes
compute p all pressure NULL virial
thermo_style custom step pe c_p
thermo 1
timestep 1.0e-6
fix nve all nve
run {warmup}
reset_timestep 0
run {steps}
"""


def parse_log(text: str) -> dict:
    """Loop time and Pair time of the last run in a LAMMPS log."""
    loops = re.findall(r"Loop time of ([\d.eE+-]+) on (\d+) procs for (\d+) steps with (\d+)", text)
    pairs = re.findall(
        r"^Pair\s+\|\s+([\d.eE+-]+)\s+\|\s+([\d.eE+-]+)\s+\|\s+([\d.eE+-]+)", text, flags=re.M
    )
    if not loops:
        raise RuntimeError("no 'Loop time' line in the LAMMPS log")
    loop, procs, steps, natoms = loops[-1]
    out = {
        "loop_time_s": float(loop),
        "procs": int(procs),
        "steps": int(steps),
        "atoms": int(natoms),
    }
    out["loop_per_step_s"] = out["loop_time_s"] / out["steps"]
    if pairs:
        pmin, pavg, pmax = map(float, pairs[-1])
        out.update(pair_time_avg_s=pavg, pair_time_max_s=pmax, pair_per_step_s=pavg / out["steps"])
    ghost = re.findall(r"ghost cutoff set to ([\d.]+)", text)
    if ghost:
        out["ghost_cutoff_A"] = float(ghost[-1])
    return out


def time_lammps(
    path: Path, atoms, nprocs: int, warmup: int, steps: int, workdir: Path, options: str
) -> dict:
    from hermnet.lammps.data import lammps_frame, write_data

    workdir.mkdir(parents=True, exist_ok=True)
    write_data(workdir / "data.lmp", lammps_frame(atoms), ELEMENTS)
    fill = dict(elements=" ".join(ELEMENTS), warmup=warmup, steps=steps, options=options)
    script = SCRIPT.format(model=path, **fill)
    run = run_bench(script, workdir, nprocs)
    if run.error:
        raise RuntimeError(f"LAMMPS failed ({nprocs} ranks):\n{run.error}")
    log, wall, cmd = run.log, run.wall_s, run.command
    out = parse_log(log)
    out.update(
        wall_s=wall,
        warmup_steps=warmup,
        command=cmd,
        input=SCRIPT.format(model="model.pt", **fill),
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(MODELS), help="run one model only")
    parser.add_argument("--steps", type=int, default=3, help="timed steps (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up evaluations/steps")
    parser.add_argument("--chunk-edges", type=int, default=0, help="chunked evaluation")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeat", type=int, default=10, help="cubic cells per edge (10)")
    parser.add_argument("--tag", default="", help="suffix of the results file")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"

    import torch

    torch.set_num_threads(1)
    atoms = cocrfeni(args.repeat)
    tmp = Path(tempfile.mkdtemp(prefix="hermnet_bench_"))
    results = {
        "machine": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "threads_per_rank": 1,
        "structure": f"CoCrFeNi fcc, a=3.56 A, {args.repeat}^3 cubic cells, rattle 0.05 A",
        "device": args.device,
        "atoms": len(atoms),
        "note": "2 cores: the 2-rank run has one core per rank; the 1-rank runs share the "
        "machine with nothing else of this benchmark. 2 ranks use ghost exchange.",
        "chunk_edges": args.chunk_edges,
        "commands": {
            "benchmark": "OMP_NUM_THREADS=1 .venv/bin/python bench/lammps_vs_core.py "
            + " ".join(sys.argv[1:])
        },
        "models": {},
    }
    names = [args.only] if args.only else ["l1", "default"]
    for name in names:
        path = tmp / f"{name}.pt"
        t0 = time.perf_counter()
        case = {"config": export_untrained(path, **MODELS[name])}
        print(f"[{name}] exported in {time.perf_counter() - t0:.1f} s", flush=True)
        n = len(atoms)
        case["core"] = time_core(
            path, atoms, args.warmup, args.steps, args.chunk_edges, args.device
        )
        core_s = case["core"]["median_s"]
        print(f"[{name}] core {core_s:.3f} s/step", flush=True)
        rank_list = [1, 2]
        options = f"device {args.device}"
        options += f" chunk {args.chunk_edges}" if args.chunk_edges else ""
        for nprocs in rank_list:
            key = f"lammps_{nprocs}rank"
            case[key] = time_lammps(
                path, atoms, nprocs, args.warmup, args.steps, tmp / f"{name}_{nprocs}", options
            )
            print(
                f"[{name}] {key}: loop {case[key]['loop_per_step_s']:.3f} s/step, pair "
                f"{case[key].get('pair_per_step_s', float('nan')):.3f} s/step",
                flush=True,
            )
        summary = {}
        for key in ["core"] + [f"lammps_{p}rank" for p in rank_list]:
            per_step = core_s if key == "core" else case[key]["loop_per_step_s"]
            summary[key] = {
                "s_per_step": per_step,
                "steps_per_s": 1.0 / per_step,
                "us_per_atom_step": per_step / n * 1e6,
            }
        summary["overhead_ratio_lammps1_over_core"] = (
            case["lammps_1rank"]["loop_per_step_s"] / core_s
        )
        summary["overhead_target"] = 1.10
        summary["overhead_ok"] = summary["overhead_ratio_lammps1_over_core"] < 1.10
        if "lammps_2rank" in case:
            summary["speedup_1_to_2_ranks"] = (
                case["lammps_1rank"]["loop_per_step_s"] / case["lammps_2rank"]["loop_per_step_s"]
            )
        case["summary"] = summary
        results["models"][name] = case
        print(json.dumps(summary, indent=1), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "lammps_vs_core" + (f"_{args.only}" if args.only else "")
    name += f"_chunk{args.chunk_edges}" if args.chunk_edges else ""
    name += "_cuda" if args.device == "cuda" else ""
    name += f"_{args.tag}" if args.tag else ""
    out = RESULTS / f"{name}.json"
    write_json(out, results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
