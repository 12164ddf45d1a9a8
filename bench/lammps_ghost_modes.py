"""Ghost exchange versus the deep ghost shell: atoms computed per rank and time per MD step.

Structure: 32,000-atom equiatomic CoCrFeNi fcc (a = 3.56 Å, 20x20x20 cubic cells, 71.2 Å,
random species, 0.05 Å rattle). Model: untrained vertex HermNet, float32, F = 16, L = 2,
r_c = 4 Å (4 hops, receptive field 16 Å). The model is small because the deep-shell mode
must fit in memory: at r_c = 5 Å each of 4 ranks computes ~60k atoms (2.5M edges), which
was OOM-killed on this 23 GB machine even at F = 8 (measured ~100 kB per computed atom).
The default model (F = 128, L = 4, r_c = 5 Å: 40 Å) is projected from LAMMPS' ghost counts
alone (pair_style zero with the ghost cutoff of each mode, ranks 1 to 8).

Modes of pair_style hermnet (`ghosts` keyword), ranks 1, 2 and 4 (mpirun, 1 torch thread
per rank):
  remap     one rank only: ghosts are periodic images mapped to their owners
  exchange  ghost shell one cutoff + skin deep, features refreshed after every hop
  deep      ghost shell as deep as the receptive field + skin (the reference)
Atoms computed per rank (local + ghost rows of the model), edges and peak memory come from
`compute pair hermnet`; time per step is LAMMPS' Loop time of a timed `run` after a warm-up.
On this 2-core machine 4 ranks share 2 cores: compare modes at equal rank count.

    OMP_NUM_THREADS=1 .venv/bin/python bench/lammps_ghost_modes.py            # ~20 min
    OMP_NUM_THREADS=1 .venv/bin/python bench/lammps_ghost_modes.py --repeat 8 # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.alloy import ELEMENTS, cocrfeni, export_untrained  # noqa: E402
from bench.lammps_runner import run_bench  # noqa: E402
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MODEL = dict(features=16, radial_basis=8, layers=2, cutoff=4.0)
DEFAULT_MODEL = dict(layers=4, cutoff=5.0)  # projected with ghost counts only
SKIN = 1.0
CASES = [
    ("remap", 1),
    ("exchange", 1),
    ("deep", 1),
    ("exchange", 2),
    ("deep", 2),
    ("exchange", 4),
    ("deep", 4),
]

SCRIPT = """units metal
atom_style atomic
boundary p p p
read_data data.lmp
pair_style hermnet {model} ghosts {ghosts} check no
pair_coeff * * {elements}
neighbor {skin} bin
neigh_modify every 1 delay 0 check yes
compute hs all pair hermnet
thermo_style custom step pe c_hs[1] c_hs[2] c_hs[3] c_hs[4] c_hs[5]
thermo 1
timestep 1.0e-3
velocity all create 300 1 dist gaussian
fix nve all nve
run {warmup}
run {steps}
print "stats $(c_hs[1]) $(c_hs[2]) $(c_hs[3]) $(c_hs[4]) $(c_hs[5]) $(pe:%.12g)"
"""


def parse(log: str) -> dict:
    loops = re.findall(r"Loop time of ([\d.eE+-]+) on (\d+) procs for (\d+) steps", log)
    stats = re.findall(r"^stats (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)", log, re.MULTILINE)
    if not loops or not stats:
        raise RuntimeError("no Loop time or statistics in the LAMMPS log")
    loop, procs, steps = loops[-1]
    atoms, local, ghosts, edges, rss_mib, energy = map(float, stats[-1])
    procs = int(procs)
    return {
        "ranks": procs,
        "timed_steps": int(steps),
        "s_per_step": float(loop) / int(steps),
        "atoms_computed_per_rank": atoms / procs,
        "local_atoms_per_rank": local / procs,
        "ghost_atoms_per_rank": ghosts / procs,
        "edges_per_rank": edges / procs,
        "peak_rss_mib_per_rank": rss_mib / procs,
        "final_energy_eV": energy,
    }


def run_case(model: Path, atoms, ghosts: str, ranks: int, args, workdir: Path) -> dict:
    from hermnet.lammps.data import lammps_frame, write_data

    workdir.mkdir(parents=True, exist_ok=True)
    write_data(workdir / "data.lmp", lammps_frame(atoms), ELEMENTS)
    script = SCRIPT.format(
        model=model,
        ghosts=ghosts,
        elements=" ".join(ELEMENTS),
        skin=SKIN,
        warmup=args.warmup,
        steps=args.steps,
    )
    run = run_bench(script, workdir, ranks)
    if run.error:
        return {"ghosts": ghosts, "ranks": ranks, "failed": run.error, "wall_s": run.wall_s}
    return {"ghosts": ghosts, **parse(run.log), "wall_s": run.wall_s}


COUNT_SCRIPT = """units metal
atom_style atomic
boundary p p p
read_data data.lmp
pair_style zero {cutoff}
pair_coeff * *
neighbor {skin} bin
comm_modify cutoff {ghost_cutoff}
run 0
"""


def ghost_counts(atoms, ranks: int, ghost_cutoff: float, workdir: Path) -> dict:
    """Local and ghost atoms per rank that LAMMPS holds for a given ghost cutoff."""
    from hermnet.lammps.data import lammps_frame, write_data

    workdir.mkdir(parents=True, exist_ok=True)
    write_data(workdir / "data.lmp", lammps_frame(atoms), ELEMENTS)
    script = COUNT_SCRIPT.format(
        cutoff=DEFAULT_MODEL["cutoff"], skin=SKIN, ghost_cutoff=ghost_cutoff
    )
    run = run_bench(script, workdir, ranks, name="in.count")
    if run.error:
        raise RuntimeError(f"ghost count failed ({ranks} ranks):\n{run.error}")
    log = run.log
    ghosts = float(re.findall(r"Nghost:\s+(\S+) ave", log)[-1])
    return {
        "ranks": ranks,
        "ghost_cutoff_A": ghost_cutoff,
        "atoms_per_rank": len(atoms) / ranks + ghosts,
    }


def projection(atoms, workdir: Path) -> dict:
    """Atoms per rank of the default model in both modes (exchange: cutoff + skin, an upper
    bound: the plugin keeps only ghosts within the cutoff)."""
    hops = 2 * DEFAULT_MODEL["layers"]
    shells = {
        "exchange": DEFAULT_MODEL["cutoff"] + SKIN,
        "deep": hops * DEFAULT_MODEL["cutoff"] + SKIN,
    }
    rows = []
    for ranks in (1, 2, 4, 8):
        row = {"ranks": ranks}
        for mode, shell in shells.items():
            count = ghost_counts(atoms, ranks, shell, workdir / f"{mode}_{ranks}")
            row[f"{mode}_atoms_per_rank"] = count["atoms_per_rank"]
        row["deep_over_exchange"] = row["deep_atoms_per_rank"] / row["exchange_atoms_per_rank"]
        rows.append(row)
    return {"model": {**DEFAULT_MODEL, "features": 128}, "ghost_cutoffs_A": shells, "rows": rows}


def summarize(cases: list[dict]) -> dict:
    by = {(c["ghosts"], c["ranks"]): c for c in cases if "failed" not in c}
    out = {}
    for ranks in (1, 2, 4):
        ex, deep = by.get(("exchange", ranks)), by.get(("deep", ranks))
        if ex and deep:
            out[f"{ranks}_ranks"] = {
                "deep_over_exchange_atoms_per_rank": deep["atoms_computed_per_rank"]
                / ex["atoms_computed_per_rank"],
                "deep_over_exchange_time_per_step": deep["s_per_step"] / ex["s_per_step"],
                "energy_difference_eV": abs(deep["final_energy_eV"] - ex["final_energy_eV"]),
            }
    four = out.get("4_ranks")
    if four:
        out["targets_at_4_ranks"] = {
            "atoms_ratio_at_least_3": four["deep_over_exchange_atoms_per_rank"] >= 3.0,
            "exchange_faster": four["deep_over_exchange_time_per_step"] > 1.0,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="fcc cubic cells per edge (20)")
    parser.add_argument("--steps", type=int, default=2, help="timed MD steps (default 2)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up MD steps (default 1)")
    parser.add_argument(
        "--cases",
        nargs="+",
        default=[f"{g}:{r}" for g, r in CASES],
        help="MODE:RANKS pairs (default: %(default)s)",
    )
    parser.add_argument("--no-projection", action="store_true", help="skip the ghost counts")
    parser.add_argument("--out", default=str(RESULTS / "lammps_ghost_modes.json"))
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    atoms = cocrfeni(args.repeat)
    tmp = Path(tempfile.mkdtemp(prefix="hermnet_ghosts_"))
    model = tmp / "model.pt"
    results = {
        "machine": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "threads_per_rank": 1,
        "structure": f"CoCrFeNi equiatomic fcc, a=3.56 A, {args.repeat}^3 cubic cells, "
        "rattle 0.05 A, 300 K velocities",
        "atoms": len(atoms),
        "box_A": 3.56 * args.repeat,
        "skin_A": SKIN,
        "model": export_untrained(model, **MODEL),
        "command": "OMP_NUM_THREADS=1 .venv/bin/python bench/lammps_ghost_modes.py "
        + " ".join(sys.argv[1:]),
        "note": "2-core machine shared with other work; 4 ranks oversubscribe the 2 cores, "
        "so compare modes at equal rank count. Time per step is the Loop time of the timed "
        "run divided by its steps.",
        "cases": [],
    }
    for ghosts, ranks in (c.split(":") for c in args.cases):
        ranks = int(ranks)
        case = run_case(model, atoms, ghosts, ranks, args, tmp / f"{ghosts}_{ranks}")
        results["cases"].append(case)
        print(json.dumps(case), flush=True)
    results["summary"] = summarize(results["cases"])
    if not args.no_projection:
        results["default_model_projection"] = projection(atoms, tmp / "count")
    print(json.dumps(results["summary"], indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, results)


if __name__ == "__main__":
    main()
