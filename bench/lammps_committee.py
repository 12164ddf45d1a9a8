"""Cost of the committee model deviation in LAMMPS (issue 24, "Measure").

Structure: 256-atom equiatomic CoCrFeNi fcc (bench/alloy.py cocrfeni(4)). Models: untrained
vertex HermNet, float32, F = 32, L = 2, r_c = 4.5 Å; the K members are copies of one file
(the cost does not depend on the weights). One rank, 1 torch thread, NVE from 300 K.
Time per step is LAMMPS' Loop time of a timed `run` after a warm-up `run`; each case is
repeated and the fastest repeat is kept (the machine's 2 cores are shared with other jobs).

  plain          pair_style hermnet m0.pt
  every step     pair_style hermnet m0 ... m{K-1} out_freq 1: every step is a deviation step
  out_freq 100   pair_style hermnet m0 ... m{K-1} out_freq 100

Targets: a deviation step costs at most K + 0.2 plain steps; a run with out_freq 100 at most
1.05 x a plain run.

    OMP_NUM_THREADS=1 .venv/bin/python bench/lammps_committee.py          # ~4 min
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.alloy import ELEMENTS, cocrfeni, export_untrained  # noqa: E402
from bench.lammps_runner import run_bench  # noqa: E402
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MODEL = dict(features=32, radial_basis=8, layers=2, cutoff=4.5)

SCRIPT = """units metal
atom_style atomic
boundary p p p
read_data data.lmp
pair_style hermnet {models} check no {options}
pair_coeff * * {elements}
velocity all create 300 1 mom yes rot yes
fix nve all nve
thermo 1000
run {warmup}
run {steps}
"""


def loop_time(log: str) -> tuple[float, int]:
    loops = re.findall(r"Loop time of ([\d.eE+-]+) on \d+ procs for (\d+) steps", log)
    if not loops:
        raise RuntimeError("no Loop time in the LAMMPS log")
    seconds, steps = loops[-1]
    return float(seconds), int(steps)


def time_once(models, options, steps, args, folder: Path) -> float:
    folder.mkdir(parents=True)
    shutil.copy(folder.parent / "data.lmp", folder / "data.lmp")
    script = SCRIPT.format(
        models=" ".join(str(m) for m in models),
        options=options,
        elements=" ".join(ELEMENTS),
        warmup=args.warmup,
        steps=steps,
    )
    run = run_bench(script, folder, 1)
    if run.error:
        raise RuntimeError(run.error)
    seconds, n = loop_time(run.log)
    return seconds / n


def time_cases(cases, args, workdir: Path) -> list[dict]:
    """Repeats interleaved (every case once, then again), so that a burst of load from other
    jobs slows one repeat of every case rather than all repeats of one; the fastest is kept."""
    times = [[] for _ in cases]
    for repeat in range(args.repeat):
        for c, (models, options, steps) in enumerate(cases):
            folder = workdir / f"case{c}_{repeat}"
            times[c].append(time_once(models, options, steps, args, folder))
    return [
        {
            "models": len(models),
            "options": options,
            "steps": steps,
            "seconds_per_step": min(t),
            "repeats": t,
        }
        for (models, options, steps), t in zip(cases, times, strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=4, help="committee size K")
    parser.add_argument("--steps", type=int, default=300, help="steps of the plain runs")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "lammps_committee.json"))
    args = parser.parse_args()
    from hermnet.lammps.data import write_data

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = export_untrained(workdir / "m0.pt", **MODEL)
        models = [workdir / "m0.pt"]
        for k in range(1, args.models):
            models.append(workdir / f"m{k}.pt")
            shutil.copy(models[0], models[k])
        atoms = cocrfeni(4)
        write_data(workdir / "data.lmp", atoms, ELEMENTS)
        cases = [
            (models[:1], "", args.steps),
            (models, "out_freq 1", max(args.steps // args.models, 20)),
            (models, "out_freq 100", args.steps),
        ]
        plain, every, sparse = time_cases(cases, args, workdir)
    k = args.models
    ratio_step = every["seconds_per_step"] / plain["seconds_per_step"]
    ratio_run = sparse["seconds_per_step"] / plain["seconds_per_step"]
    result = {
        "benchmark": "lammps_committee",
        "structure": f"CoCrFeNi fcc, {len(atoms)} atoms",
        "model": config,
        "committee_size": k,
        "cases": [plain, every, sparse],
        "deviation_step_in_plain_steps": ratio_step,
        "deviation_step_target": k + 0.2,
        "deviation_step_within_target": ratio_step <= k + 0.2,
        "out_freq_100_run_ratio": ratio_run,
        "out_freq_100_target": 1.05,
        "out_freq_100_within_target": ratio_run <= 1.05,
        "hardware": f"{platform.processor() or platform.machine()}, 1 rank, 1 torch thread "
        "(2 cores shared with other jobs)",
        "command": "OMP_NUM_THREADS=1 .venv/bin/python bench/lammps_committee.py",
    }
    write_json(args.out, result)
    print(
        f"deviation step = {ratio_step:.2f} plain steps (target <= {k + 0.2}); "
        f"out_freq 100 run = {ratio_run:.3f} x plain (target <= 1.05) -> {args.out}"
    )


if __name__ == "__main__":
    main()
