"""Does the committee's deviation track the true error? (issue 24, "Measure", accuracy part)

On the demo's CoCrFeNi alloy with its MEAM teacher, for the 4-model committee of
deploy/committee/run_committee.py (run first, in the same --out, unless already there):

  held-out   the demo's held-out teacher frames (300/900/1500 K): per atom, the committee's
             force deviation e_f[i] against the true force error |F_0[i] - F_MEAM[i]| of
             model 0 (the one that drives the dynamics), and per frame max_devi_f against
             the frame's largest true error; Spearman rank correlations.
  heated     the walk-through's LAMMPS run heated from 300 K to 3000 K with the committee:
             max_devi_f of model_devi.out (written by pair_style hermnet) against
             temperature, and the teacher's forces on the same frames (LAMMPS rerun with
             MEAM) for the true error along the run; Spearman per frame; and the largest
             difference between the LAMMPS rows and the same deviation computed in Python.

    OMP_NUM_THREADS=1 .venv/bin/python bench/committee_deviation.py --out demo_out/committee
    # writes bench/results/committee_deviation.json and .png (--quick: smoke test, no results)
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "deploy" / "committee"))
import run_committee as walk  # noqa: E402

from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results"

RERUN = """units metal
atom_style atomic
boundary p p p
read_data data.lmp
{pair}
neighbor 1.0 bin
dump f all custom 1 teacher_forces.dump id fx fy fz
dump_modify f sort id format float %.12g
rerun traj.dump dump x y z box yes
"""


def spearman(x, y) -> float:
    """Spearman's rank correlation (scipy when installed; average ranks for ties)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    try:
        from scipy.stats import spearmanr

        return float(spearmanr(x, y).statistic)
    except ImportError:
        return float(np.corrcoef(_ranks(x), _ranks(y))[0, 1])


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="mergesort")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(len(v), dtype=float)
    for value in np.unique(v[np.diff(np.sort(v), prepend=np.nan) == 0]):  # ties
        ranks[v == value] = ranks[v == value].mean()
    return ranks


def committee_on(models, frames, teacher_forces):
    """Per-atom deviation and model 0's true force error on each frame."""
    from hermnet.calculators import HermNetCalculator

    calc = HermNetCalculator(model=[str(m) for m in models], backend="cpp")
    devi, error = [], []
    for atoms, ref in zip(frames, teacher_forces, strict=True):
        atoms = atoms.copy()
        calc.calculate(atoms, ["energy", "forces"])
        devi.append(np.asarray(calc.results["force_deviation"]))
        error.append(np.linalg.norm(calc.results["forces"] - ref, axis=1))
    return devi, error


def held_out(out: Path, models) -> dict:
    from ase.io import read

    frames = read(out / "test.extxyz", index=":")
    devi, error = committee_on(models, frames, [a.get_forces() for a in frames])
    d, e = np.concatenate(devi), np.concatenate(error)
    dmax, emax = np.array([x.max() for x in devi]), np.array([x.max() for x in error])
    return {
        "frames": len(frames),
        "atoms": len(d),
        "spearman_per_atom": spearman(d, e),
        "spearman_per_frame_max": spearman(dmax, emax),
        "force_error_mae_eV_A": float(np.mean(e)),
        "devi_f_mean_eV_A": float(np.mean(d)),
        "max_devi_f_per_frame": dmax.tolist(),
        "max_error_per_frame": emax.tolist(),
        "_points": (d, e),
    }


def teacher_on_trajectory(work: Path) -> list[np.ndarray]:
    """MEAM forces on every frame of traj.dump (LAMMPS rerun), in atom-ID order."""
    folder = work / "teacher_rerun"
    folder.mkdir(exist_ok=True)
    for name in ("data.lmp", "traj.dump"):
        target = folder / name
        if not target.exists():
            target.symlink_to(work / name)
    walk.demo.lammps(RERUN.format(pair=walk.demo.teacher_pair()), folder)
    lines = (folder / "teacher_forces.dump").read_text().splitlines()
    n = int(lines[3])
    return [
        np.array([r.split()[1:4] for r in lines[s + 9 : s + 9 + n]], dtype=float)
        for s in range(0, len(lines), n + 9)
    ]


def by_temperature(temp, devi, error, edges=(0, 600, 1000, 1500, 2000, 2500, 1e9)) -> list:
    """Mean max_devi_f and mean largest true error of the frames in each temperature band."""
    bands = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (temp >= low) & (temp < high)
        if inside.any():
            bands.append(
                {
                    "T_K": [low, high if high < 1e9 else None],
                    "frames": int(inside.sum()),
                    "mean_max_devi_f": float(devi[inside].mean()),
                    "mean_max_error": float(error[inside].mean()),
                }
            )
    return bands


def first_above(steps, T, devi, value) -> dict | None:
    """The first frame whose max_devi_f reaches value: its step and temperature."""
    above = np.flatnonzero(devi >= value)
    if not len(above):
        return None
    k = int(above[0])
    return {"step": int(steps[k]), "T_K": float(T[k]), "threshold": float(value)}


def heated(out: Path, models, walk_lo: float, walk_hi: float) -> dict:
    from ase.io import read

    from hermnet.deviation import read_model_devi

    work = out / "md_heated"
    rows = read_model_devi(work / "model_devi.out")
    frames = read(work / "traj.dump", index=":", format="lammps-dump-text")
    temps = walk.read_temperatures(work)
    steps = [int(a.info["timestep"]) for a in frames]
    row_of = {int(s): k for k, s in enumerate(rows["step"])}
    lammps_max = np.array([rows["max_devi_f"][row_of[s]] for s in steps])
    devi, error = committee_on(models, frames, teacher_on_trajectory(work))
    dmax, emax = np.array([x.max() for x in devi]), np.array([x.max() for x in error])
    T = np.array([temps.get(s, np.nan) for s in steps])
    return {
        "frames": len(frames),
        "atoms": len(frames[0]),
        "by_temperature": by_temperature(T, lammps_max, emax),
        "first_above": {
            name: first_above(steps, T, lammps_max, value)
            for name, value in (("lo", walk_lo), ("hi", walk_hi))
        },
        "step": steps,
        "temperature_K": [temps.get(s) for s in steps],
        "max_devi_f_lammps": lammps_max.tolist(),
        "max_error": emax.tolist(),
        "spearman_per_frame_max": spearman(lammps_max, emax),
        "lammps_vs_python_max_abs_diff_eV_A": float(np.abs(lammps_max - dmax).max()),
        # model_devi.out has 7 significant digits (%19.6e): at most 5e-7 relative
        "lammps_vs_python_max_rel_diff": float((np.abs(lammps_max - dmax) / dmax).max()),
    }


def plot(path: Path, res: dict, points) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h, m = res["held_out"], res["heated"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    d, e = points
    ax = axes[0]
    ax.scatter(d, e, s=3, alpha=0.3, label="atoms")
    ax.scatter(h["max_devi_f_per_frame"], h["max_error_per_frame"], s=18, c="C3", label="frame max")
    # the deviation is a spread of four fits, smaller than the error itself: own scales
    ax.set(
        xlabel="committee force deviation (eV/Å)",
        ylabel="model 0 force error vs MEAM (eV/Å)",
        title=f"held-out frames: Spearman {h['spearman_per_atom']:.2f} per atom, "
        f"{h['spearman_per_frame_max']:.2f} per frame",
        xlim=(0, float(d.max()) * 1.05),
        ylim=(0, float(e.max()) * 1.05),
    )
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    ax = axes[1]
    T = np.array(m["temperature_K"], dtype=float)
    ax.plot(T, m["max_devi_f_lammps"], "o", ms=3, label="max_devi_f (LAMMPS model_devi.out)")
    ax.plot(T, m["max_error"], ".", alpha=0.6, label="max true error of model 0")
    ax.axvspan(300, 1500, color="0.9", label="training temperatures")
    for name, value, style in (("lo", res["lo"], "--"), ("hi", res["hi"], ":")):
        ax.axhline(value, color="k", ls=style, lw=0.8, label=name)
    ax.set_yscale("log")  # past the data the structures collapse: errors of 1000s of eV/Å
    ax.set(
        xlabel="temperature (K)",
        ylabel="eV/Å",
        title=f"heated NVT run ({m['atoms']} atoms): Spearman {m['spearman_per_frame_max']:.2f}",
    )
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo_out/committee"))
    parser.add_argument("--quick", action="store_true", help="smoke test; writes into --out")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    summary = walk.run(out, quick=args.quick)
    models = [out / f"m{k}.pt" for k in range(len(walk.SEEDS))]
    res = {
        "what": "committee max force deviation vs model 0's true force error (MEAM teacher)",
        "machine": platform.platform(),
        "walkthrough": {k: summary[k] for k in ("quick", "settings", "timings_s", "selection")},
        "lo": summary["lo"],
        "hi": summary["hi"],
        "held_out": held_out(out, models),
        "heated": heated(out, models, summary["lo"], summary["hi"]),
    }
    points = res["held_out"].pop("_points")
    target = out if args.quick else RESULTS
    plot(target / "committee_deviation.png", res, points)
    write_json(target / "committee_deviation.json", res)
    h, m = res["held_out"], res["heated"]
    print(
        f"held-out: Spearman {h['spearman_per_atom']:.3f} per atom, "
        f"{h['spearman_per_frame_max']:.3f} per frame; heated: {m['spearman_per_frame_max']:.3f}; "
        f"LAMMPS vs Python {m['lammps_vs_python_max_abs_diff_eV_A']:.2e} eV/Å -> "
        f"{target / 'committee_deviation.json'}"
    )
    return res


if __name__ == "__main__":
    main()
