"""Every core of a node: MPI ranks x threads per rank for pair_style hermnet, and a cost model.

Structure: CoCrFeNi fcc (bench/alloy.py), 4,000 atoms (10^3 cells) and 16,384 (16^3 cells,
57 Å). Models, untrained (speed does not depend on the weights), float32, r_c = 5 Å:
  bench    the benchmark size: F = 64, L = 3, 8 sine functions
  default  `hermnet train`'s defaults: F = 128, L = 4, 30 sine functions
Cases (ghosts mode, ranks, threads per rank; OMP_NUM_THREADS sets torch's threads):
  remap 1 x 1 (the reference), exchange 1 x 1, exchange 2 x 1, remap 1 x 2, and two
  independent remap 1 x 1 jobs at once. The last one shares nothing but the machine (memory
  bandwidth, caches, clocks): twice its throughput over one job (`two_core_ceiling`) is what
  a second core gives a full-size one-core job here, the reference the other speed-ups are
  read against. It is not a strict bound: a rank of 2 touches half the atoms and contends
  less than a full-size job (16k atoms: 2 ranks 1.72x, two jobs 1.68x).
Each case runs NVE `run WARMUP` then `run STEPS`; time per step is the timed run's LAMMPS
Loop time, the best of ROUNDS runs with the cases interleaved (a shared machine's load
changes hit every case alike; the ratios come from one invocation). `compute pair hermnet`
gives the rows each rank computes: local atoms and ghost rows (atoms of other ranks that
the local atoms' edges reach), and edges.

Cost model (written to the JSON, read by deploy/lammps/README.md): a rank's step costs
    t = c_row * local atoms + c_ghost * ghost rows + c_edge * edges,   edges = local atoms * k
with c_row (per-atom work: embedding, the dense layers of every hop, readout), c_ghost (a
ghost row's share: embedding and the message's dense layers; files with hop_prepare_rows
skip the update on ghost rows) and c_edge (everything per edge) measured through the C++
core on one thread: the cell with and without its edges, and the cell's atoms as ghost rows
of one local atom (in-memory exchange). For a cubic subdomain of n atoms at the alloy's
density the ghost rows are the atoms of a shell one cutoff thick around it; the projected
parallel efficiency is (c_row + c_edge k) n / t (not counting communication).

    .venv/bin/python bench/lammps_ranks_threads.py                               # ~30 min
    .venv/bin/python bench/lammps_ranks_threads.py --models bench --sizes 10 --rounds 1  # ~2 min
Results: bench/results/lammps_ranks_threads[_TAG].json.
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.alloy import ELEMENTS, cocrfeni, export_untrained  # noqa: E402
from bench.lammps_runner import run_together  # noqa: E402
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MODELS = {
    "bench": dict(features=64, layers=3, radial_basis=8, cutoff=5.0),
    "default": dict(cutoff=5.0),
}
# (ghosts, ranks, threads per rank, independent jobs at once)
CASES = [
    ("remap", 1, 1, 1),
    ("exchange", 1, 1, 1),
    ("exchange", 2, 1, 1),
    ("remap", 1, 2, 1),
    ("remap", 1, 1, 2),
]
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


def parse(log: str, ranks: int) -> dict:
    loops = re.findall(r"Loop time of ([\d.eE+-]+) on (\d+) procs for (\d+) steps", log)
    stats = re.findall(r"^stats (\S+) (\S+) (\S+) (\S+) (\S+)", log, re.MULTILINE)
    threads = re.findall(r"HermNet: .*?(\d+) thread\(s\) per rank", log)
    if not loops or not stats:
        raise RuntimeError("no Loop time or statistics in the LAMMPS log")
    # "on P procs": P is ranks x threads; the statistics are summed over ranks only.
    loop, _, steps = loops[-1]
    atoms, local, ghosts, edges, energy = map(float, stats[-1])
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
    ghosts, ranks, threads, jobs = case
    folders = [workdir / f"{ghosts}_{ranks}x{threads}_job{j}" for j in range(jobs)]
    for folder in folders:
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
    runs = run_together(script, folders, ranks, threads=threads)
    row = {"ghosts": ghosts, "ranks": ranks, "threads": threads, "jobs": jobs}
    row["command"] = runs[0].command + (f"  ({jobs} at once)" if jobs > 1 else "")
    failed = [run.error for run in runs if run.error]
    if failed:
        return {**row, "failed": failed[0]}
    parsed = [parse(run.log, ranks) for run in runs]
    # Jobs at once: the mean time per step of the jobs (each did the whole cell).
    mean = sum(p["s_per_step"] for p in parsed) / jobs
    return {**row, **parsed[0], "s_per_step": mean, "wall_s": runs[0].wall_s}


def case_name(row: dict) -> str:
    name = f"{row['ghosts']}_{row['ranks']}x{row['threads']}"
    return name if row.get("jobs", 1) == 1 else f"{name}_{row['jobs']}_jobs_at_once"


PRINTED = ("ghosts", "ranks", "threads", "jobs", "s_per_step", "ghost_rows_per_rank", "failed")


def best_of(runs: list[dict]) -> dict:
    """The fastest run of a case, with every run's time per step."""
    done = [r for r in runs if "failed" not in r]
    if not done:
        return runs[-1]
    best = min(done, key=lambda r: r["s_per_step"])
    return {**best, "s_per_step_runs": [r["s_per_step"] for r in done]}


def shell_rows(local_atoms: float, cutoff: float) -> float:
    """Atoms of other ranks within `cutoff` of a cubic subdomain of `local_atoms` atoms."""
    side = (local_atoms / DENSITY) ** (1 / 3)
    return DENSITY * ((side + 2 * cutoff) ** 3 - side**3)


def core_costs(model: Path, atoms) -> dict:
    """c_row and c_edge (s) from the C++ core on one thread: the cell, then its atoms alone."""
    import numpy as np
    import torch

    from hermnet.export import load_core
    from hermnet.export.core import neighbor_list

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        core = load_core(model)
        pos = np.ascontiguousarray(atoms.positions, dtype=np.float64)
        edge_index, edge_shift, _ = neighbor_list(pos, atoms.cell.array, atoms.pbc, core.cutoff)
        types = core.types(atoms.numbers)
        no_edges = (np.zeros((2, 0), dtype=np.int64), np.zeros((0, 3)))

        def best(*graph) -> float:
            times = []
            for _ in range(3):
                start = time.perf_counter()
                core.compute(pos, types, *graph)
                times.append(time.perf_counter() - start)
            return min(times)

        whole, rows_only = best(edge_index, edge_shift), best(*no_edges)
        # The same rows through the hop path, all local, then all but one as ghost rows
        # (owned by atom 0): the difference is what a ghost row saves.
        n = len(atoms)
        hop_args = (pos, types, *no_edges)
        local_rows = best_hops(core, hop_args, n, np.arange(n))
        ghost_rows = best_hops(core, hop_args, 1, np.zeros(n, dtype=np.int64))
    finally:
        torch.set_num_threads(before)
    n, edges = len(atoms), edge_index.shape[1]
    return {
        "atoms": n,
        "edges": edges,
        "whole_graph_s": whole,
        "atoms_only_s": rows_only,
        "c_row_us": 1e6 * rows_only / n,
        "c_edge_us": 1e6 * (whole - rows_only) / edges,
        "hop_path_local_rows_s": local_rows,
        "hop_path_ghost_rows_s": ghost_rows,
        "c_ghost_us": 1e6 * rows_only / n * ghost_rows / local_rows,
    }


def best_hops(core, graph: tuple, n_local: int, owner) -> float:
    """Best of 3 core.compute_exchanged calls (in-memory exchange from `owner`)."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        core.core.compute_exchanged(*graph, n_local, owner)
        times.append(time.perf_counter() - start)
    return min(times)


def cost_model(costs: dict, cutoff: float) -> dict:
    c_row, c_ghost, c_edge = costs["c_row_us"], costs["c_ghost_us"], costs["c_edge_us"]
    k = costs["edges"] / costs["atoms"]
    projection = []
    for n in (250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000):
        ghosts = shell_rows(n, cutoff)
        useful = (c_row + c_edge * k) * n
        projection.append(
            {
                "atoms_per_rank": n,
                "ghost_rows_per_rank": round(ghosts),
                "efficiency": useful / (useful + c_ghost * ghosts),
            }
        )
    return {
        **costs,
        "edges_per_atom": k,
        "row_share_of_atom_cost": c_row / (c_row + c_edge * k),
        "ghost_row_share_of_atom_cost": c_ghost / (c_row + c_edge * k),
        "cubic_subdomains": projection,
    }


def predicted_two_ranks(rows: list[dict], costs: dict) -> float | None:
    """Speed-up of 2 ranks that the cost model predicts from the measured rows per rank."""
    by = {case_name(r): r for r in rows if "failed" not in r}
    two = by.get("exchange_2x1")
    if not two:
        return None
    k = costs["edges"] / costs["atoms"]
    one = (costs["c_row_us"] + costs["c_edge_us"] * k) * costs["atoms"]
    rank = (
        costs["c_row_us"] * two["local_atoms_per_rank"]
        + costs["c_ghost_us"] * two["ghost_rows_per_rank"]
        + costs["c_edge_us"] * two["edges_per_rank"]
    )
    return one / rank


def summarize(rows: list[dict]) -> dict:
    """Speed-ups over one core; with two jobs at once measured, each also as a share of what
    two full-size jobs reach together (2 x one job's time over the time of two at once)."""
    by = {case_name(r): r for r in rows if "failed" not in r}
    one = by.get("remap_1x1")
    if not one:
        return {}
    together = by.get("remap_1x1_2_jobs_at_once")
    ceiling = 2 * one["s_per_step"] / together["s_per_step"] if together else None
    out = {}
    for name, r in by.items():
        if r is together:
            continue
        speedup = one["s_per_step"] / r["s_per_step"]
        out[name] = {
            "speedup_over_one_core": speedup,
            "share_of_two_core_ceiling": speedup / ceiling if ceiling else None,
            "energy_difference_eV": abs(r["final_energy_eV"] - one["final_energy_eV"]),
        }
    out["two_core_ceiling"] = ceiling
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[16, 10], help="fcc cells per edge")
    parser.add_argument("--steps", type=int, default=10, help="timed MD steps (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up MD steps (default 2)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each case (best kept)")
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
                samples = {case: [] for case in CASES}
                for _ in range(args.rounds):
                    for case in CASES:
                        row = run_case(model, data, case, args, workdir / f"{name}_{repeat}")
                        samples[case].append(row)
                        print(name, len(atoms), {k: row.get(k) for k in PRINTED}, flush=True)
                rows = [best_of(samples[case]) for case in CASES]
                costs = core_costs(model, atoms)
                summary = summarize(rows)
                summary["exchange_2x1_predicted_without_communication"] = predicted_two_ranks(
                    rows, costs
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
                        "summary": summary,
                        "cost_model": cost_model(costs, config["cutoff"]),
                    }
                )
                write_json(out, results)  # after every size: a partial run keeps its rows
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
