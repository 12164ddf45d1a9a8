"""Every core of a node: MPI ranks x threads per rank for pair_style hermnet, and a cost model.

Structure: CoCrFeNi fcc (bench/alloy.py), 4,000 atoms (10^3 cells) and 16,384 (16^3 cells,
57 Å). Models, untrained (speed does not depend on the weights), float32, r_c = 5 Å:
  bench    the benchmark size: F = 64, L = 3, 8 sine functions
  default  `hermnet train`'s defaults: F = 128, L = 4, 30 sine functions
Cases (ghosts mode, ranks, threads per rank; OMP_NUM_THREADS sets torch's threads):
  remap 1 x 1 (the reference), exchange 1 x 1, exchange 2 x 1, remap 1 x 2.
Each case runs NVE `run WARMUP` then `run STEPS`; time per step is the timed run's LAMMPS
Loop time. `compute pair hermnet` gives the rows each rank computes: local atoms and ghost
rows (atoms of other ranks that the local atoms' edges reach), and edges.

Cost model (written to the JSON, read by deploy/PRODUCTION.md): a rank's step costs
    t = c_local * local atoms + c_ghost * ghost rows
with c_local the measured 1 x 1 cost per atom and c_ghost fitted from the 2-rank case. For
a cubic subdomain of n atoms at the alloy's density the ghost rows are the atoms of a shell
one cutoff thick around it; the projected parallel efficiency is c_local n / t.

    OMP_NUM_THREADS=1 .venv/bin/python bench/lammps_ranks_threads.py            # ~25 min
    .venv/bin/python bench/lammps_ranks_threads.py --models bench --sizes 10     # ~3 min
Results: bench/results/lammps_ranks_threads[_TAG].json.
"""

from __future__ import annotations

import argparse
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
MODELS = {
    "bench": dict(features=64, layers=3, radial_basis=8, cutoff=5.0),
    "default": dict(cutoff=5.0),
}
CASES = [("remap", 1, 1), ("exchange", 1, 1), ("exchange", 2, 1), ("remap", 1, 2)]
SKIN = 1.0
DENSITY = 4 / 3.56**3  # atoms per Å^3 of the alloy

SCRIPT = """units metal
atom_style atomic
boundary p p p
read_data data.lmp
pair_style hermnet {model} ghosts {ghosts} check no
pair_coeff * * {elements}
neighbor {skin} bin
compute hs all pair hermnet
thermo_style custom step pe
velocity all create 300 1 dist gaussian
fix nve all nve
run {warmup}
run {steps}
print "stats $(c_hs[1]) $(c_hs[2]) $(c_hs[3]) $(c_hs[4]) $(pe:%.12g)"
"""


def parse(log: str) -> dict:
    loops = re.findall(r"Loop time of ([\d.eE+-]+) on (\d+) procs for (\d+) steps", log)
    stats = re.findall(r"^stats (\S+) (\S+) (\S+) (\S+) (\S+)", log, re.MULTILINE)
    threads = re.findall(r"HermNet: .*?(\d+) thread\(s\) per rank", log)
    if not loops or not stats:
        raise RuntimeError("no Loop time or statistics in the LAMMPS log")
    loop, procs, steps = loops[-1]
    atoms, local, ghosts, edges, energy = map(float, stats[-1])
    ranks = int(procs)
    return {
        "s_per_step": float(loop) / int(steps),
        "timed_steps": int(steps),
        "threads_in_log": int(threads[-1]) if threads else None,
        "local_atoms_per_rank": local / ranks,
        "ghost_rows_per_rank": ghosts / ranks,
        "edges_per_rank": edges / ranks,
        "final_energy_eV": energy,
    }


def run_case(model: Path, data: Path, case: tuple, args, workdir: Path) -> dict:
    ghosts, ranks, threads = case
    folder = workdir / f"{ghosts}_{ranks}x{threads}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.lmp").write_bytes(data.read_bytes())
    script = SCRIPT.format(
        model=model,
        ghosts=ghosts,
        elements=" ".join(ELEMENTS),
        skin=SKIN,
        warmup=args.warmup,
        steps=args.steps,
    )
    run = run_bench(script, folder, ranks, threads=threads)
    row = {"ghosts": ghosts, "ranks": ranks, "threads": threads, "command": run.command}
    if run.error:
        return {**row, "failed": run.error}
    return {**row, **parse(run.log), "wall_s": run.wall_s}


def shell_rows(local_atoms: float, cutoff: float) -> float:
    """Atoms of other ranks within `cutoff` of a cubic subdomain of `local_atoms` atoms."""
    side = (local_atoms / DENSITY) ** (1 / 3)
    return DENSITY * ((side + 2 * cutoff) ** 3 - side**3)


def cost_model(rows: list[dict], cutoff: float) -> dict | None:
    by = {(r["ghosts"], r["ranks"], r["threads"]): r for r in rows if "failed" not in r}
    one, two = by.get(("remap", 1, 1)), by.get(("exchange", 2, 1))
    if not one or not two or two["ghost_rows_per_rank"] == 0:
        return None
    c_local = one["s_per_step"] / one["local_atoms_per_rank"]
    extra = two["s_per_step"] - c_local * two["local_atoms_per_rank"]
    c_ghost = max(extra, 0.0) / two["ghost_rows_per_rank"]
    projection = []
    for n in (250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000):
        ghosts = shell_rows(n, cutoff)
        t = c_local * n + c_ghost * ghosts
        projection.append(
            {
                "atoms_per_rank": n,
                "ghost_rows_per_rank": round(ghosts),
                "efficiency": c_local * n / t,
            }
        )
    return {
        "c_local_us_per_atom": 1e6 * c_local,
        "c_ghost_us_per_row": 1e6 * c_ghost,
        "ghost_over_local_cost": c_ghost / c_local,
        "cubic_subdomains": projection,
    }


def summarize(rows: list[dict]) -> dict:
    by = {(r["ghosts"], r["ranks"], r["threads"]): r for r in rows if "failed" not in r}
    one = by.get(("remap", 1, 1))
    if not one:
        return {}
    out = {}
    for key, r in by.items():
        name = f"{key[0]}_{key[1]}x{key[2]}"
        out[name] = {
            "speedup_over_one_core": one["s_per_step"] / r["s_per_step"],
            "energy_difference_eV": abs(r["final_energy_eV"] - one["final_energy_eV"]),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[16, 10], help="fcc cells per edge")
    parser.add_argument("--steps", type=int, default=10, help="timed MD steps (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up MD steps (default 2)")
    parser.add_argument("--tag", default="", help="results file suffix")
    args = parser.parse_args()

    import torch

    from hermnet.lammps.data import lammps_frame, write_data

    results = {
        "command": "python bench/lammps_ranks_threads.py " + " ".join(sys.argv[1:]),
        "machine": platform.platform(),
        "cpu_count": __import__("os").cpu_count(),
        "torch": torch.__version__,
        "fused_vector_bytes": __import__("hermnet._core", fromlist=["x"]).fused_vector_bytes(),
        "dtype": "float32",
        "skin_A": SKIN,
        "runs": [],
    }
    out = RESULTS / f"lammps_ranks_threads{'_' + args.tag if args.tag else ''}.json"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for name in args.models:
            model = workdir / f"{name}.pt"
            config = export_untrained(model, dtype="float32", **MODELS[name])
            for repeat in args.sizes:
                atoms = cocrfeni(repeat)
                data = workdir / f"data_{repeat}.lmp"
                write_data(data, lammps_frame(atoms), ELEMENTS)
                rows = []
                for case in CASES:
                    row = run_case(model, data, case, args, workdir / f"{name}_{repeat}")
                    rows.append(row)
                    print(
                        name,
                        len(atoms),
                        {
                            k: row.get(k)
                            for k in (
                                "ghosts",
                                "ranks",
                                "threads",
                                "s_per_step",
                                "ghost_rows_per_rank",
                                "failed",
                            )
                        },
                        flush=True,
                    )
                results["runs"].append(
                    {
                        "model": name,
                        "config": {
                            k: config[k]
                            for k in (
                                "block",
                                "features",
                                "layers",
                                "radial_basis",
                                "cutoff",
                                "num_parameters",
                            )
                        },
                        "atoms": len(atoms),
                        "cases": rows,
                        "summary": summarize(rows),
                        "cost_model": cost_model(rows, config["cutoff"]),
                    }
                )
                write_json(out, results)  # after every size: a partial run keeps its rows
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
