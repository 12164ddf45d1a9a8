"""The whole speed benchmark suite in one command: every script below in turn, each writing
its JSON (and plots) to bench/results/, then bench/results/suite[_TAG].json listing each
step's command, exit status, time and results file.

    .venv/bin/python bench/suite.py                  # CPU, 1 thread per process (hours)
    .venv/bin/python bench/suite.py --quick          # small sizes: checks that all steps run
    .venv/bin/python bench/suite.py --device cuda    # on a GPU machine (see README: GPUs)

Steps (CPU sizes; --device cuda scales the alloy to a million atoms):
  core_scaling   cost per atom-step and memory per atom vs size, whole graph vs chunked
  roofline       matmul FLOPs of the model vs the device's measured matmul rate
  profile        time by op kind (matrix products, gathers/scatters, elementwise)
  filter_op      the fused radial filter against the batched product it replaced (CPU)
  cpp_vs_python  the C++ core vs the Python (TorchScript and eager) module, same graph
  lammps_vs_core pair_style hermnet (1 and 2 MPI ranks) vs the C++ core, same model
  ghost_modes    ghost exchange vs the deep ghost shell, 1 to 4 ranks (CPU only)
  training       training throughput (structures/s) and evaluation cost per variant
A failing step is recorded and the suite goes on; the exit status is 1 if any step failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def steps(device: str, quick: bool, tag: str) -> list[tuple[str, list[str], str]]:
    """(name, arguments of `python bench/...`, results file) of each step."""
    gpu = device.startswith("cuda")
    suffix = f"_{tag}" if tag else ""
    if quick:
        scaling = ["--repeats", "3", "4", "--sweep", "5000", "--sweep-repeat", "3", "--calls", "1"]
    elif gpu:  # 4 repeat^3 atoms: 4k, 32k, 256k, 1.0M
        scaling = ["--repeats", "10", "20", "40", "63", "--chunk-edges", "1000000"]
        scaling += ["--sweep", "250000", "1000000", "4000000", "--sweep-repeat", "40"]
        scaling += ["--memory-gib", "70", "--variants", "vertex", "pair", "triad"]
    else:
        scaling = []
    scaling += ["--device", device, "--tag", f"{device.replace(':', '')}{suffix}"]
    roofline = ["--device", device, "--tag", f"{device.replace(':', '')}{suffix}"]
    roofline += ["--repeat", "3", "--calls", "1"] if quick else (["--repeat", "20"] if gpu else [])
    profile = ["--device", device, "--tag", f"{device.replace(':', '')}{suffix}"]
    profile += ["--repeat", "3"] if quick else (["--repeat", "20"] if gpu else [])
    lammps = ["--device", "cuda" if gpu else "cpu"]
    quick_lammps = ["--only", "reduced", "--repeat", "4", "--steps", "1", "--warmup", "1"]
    lammps += quick_lammps if quick else []
    lammps += ["--repeat", "40", "--chunk-edges", "1000000"] if gpu and not quick else []
    ghost = ["--repeat", "4", "--steps", "1", "--no-projection"] if quick else []
    ghost += ["--out", str(RESULTS / f"lammps_ghost_modes{suffix}.json")] if tag else []
    plan = [
        ("core_scaling", ["core_scaling.py", *scaling], f"core_scaling_{scaling[-1]}.json"),
        ("roofline", ["roofline.py", *roofline], f"roofline_{roofline[3]}.json"),
        ("profile", ["profile_model.py", *profile], f"profile_model_{profile[3]}.json"),
        ("cpp_vs_python", ["cpp_vs_python.py", *(["--quick"] if quick else [])], ""),
        ("lammps_vs_core", ["lammps_vs_core.py", *lammps], ""),
        ("training", ["model_speed.py", "--device", device, *(["--quick"] if quick else [])], ""),
    ]
    if not gpu:
        plan.insert(5, ("ghost_modes", ["lammps_ghost_modes.py", *ghost], ""))
        # The fused filter runs on CPUs only (GPUs keep the batched product).
        filter_op = ["filter_op.py", *(["--repeat", "3", "--reps", "1"] if quick else [])]
        filter_op += ["--tag", tag] if tag else []
        plan.insert(3, ("filter_op", filter_op, f"filter_op{suffix}.json"))
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--only", nargs="+", help="run these steps only")
    parser.add_argument("--tag", default="", help="suffix of the suite's results files")
    opts = parser.parse_args()
    if opts.quick and not opts.tag:
        opts.tag = "quick"  # never overwrite the full runs' results
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    record = {"command": "python bench/suite.py " + " ".join(sys.argv[1:]), "steps": []}
    failed = False
    for name, args, results in steps(opts.device, opts.quick, opts.tag):
        if opts.only and name not in opts.only:
            continue
        cmd = [sys.executable, str(ROOT / "bench" / args[0]), *args[1:]]
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-12:]
        print("\n".join(tail), flush=True)
        failed |= proc.returncode != 0
        record["steps"].append(
            {
                "name": name,
                "command": "python bench/" + " ".join(args),
                "returncode": proc.returncode,
                "seconds": seconds,
                "results": f"bench/results/{results}" if results else "see the step's output",
                "output_tail": tail,
            }
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "suite" + (f"_{opts.tag}" if opts.tag else "")
    out = RESULTS / f"{name}.json"
    write_json(out, record)
    print(f"wrote {out}" + ("; some steps FAILED" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
