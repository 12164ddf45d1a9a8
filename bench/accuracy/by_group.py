"""Errors of one mlearn run per structure group (AIMD-NVT, Elastic, Surface, Vacancy), next
to the SNAP potentials on the same structures: where the test MAE comes from.

    python bench/accuracy/by_group.py mlearn_Si_rb8      # needs runs/accuracy/<run>/best.pt
    python bench/accuracy/by_group.py mlearn_Si_rb8 --split training --high-energy 0.3

Writes bench/results/accuracy/by_group/<run>[_training].json and prints a markdown table.
The test set has few structures per group (Si: 2 surfaces), so read a group's number as a
hint; `--split training` shows how well each group is fitted at all. `--high-energy E`
splits every group into structures within E eV/atom of the file's lowest energy per atom
and the rest (in mlearn the AIMD and vacancy groups hold both solid and hot, liquid-like
cells, 0.65 to 0.86 eV/atom above the lowest in Si).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.accuracy.snap import snap_calculator, snap_model  # noqa: E402
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "accuracy"


def group_errors(calc, structures, groups: list[str]) -> dict[str, dict]:
    """Energy MAE (meV/atom) and force MAE (meV/Å) of `calc` for each group."""
    from ase import Atoms

    diffs: dict[str, dict[str, list]] = {}
    for s, group in zip(structures, groups, strict=True):
        atoms = Atoms(numbers=s.numbers, positions=s.positions, cell=s.cell, pbc=s.pbc)
        atoms.calc = calc
        n = len(atoms)
        entry = diffs.setdefault(group, {"energy": [], "forces": []})
        entry["energy"].append(atoms.get_potential_energy() / n - s.energy / n)
        entry["forces"].append(np.ravel(atoms.get_forces() - s.forces))
    return {
        group: {
            "structures": len(d["energy"]),
            "energy_per_atom_mae_meV": float(np.abs(d["energy"]).mean() * 1e3),
            "forces_mae_meV_A": float(np.abs(np.concatenate(d["forces"])).mean() * 1e3),
        }
        for group, d in sorted(diffs.items())
    }


def group_labels(structures, high_energy: float | None) -> list[str]:
    """Each structure's mlearn group, with " (high E)" appended when `high_energy` is given
    and its energy per atom is more than `high_energy` eV above the lowest of the file."""
    labels = [s.config_type for s in structures]
    if high_energy is None:
        return labels
    per_atom = [s.energy / len(s.numbers) for s in structures]
    floor = min(per_atom)
    return [
        f"{label} (high E)" if e > floor + high_energy else label
        for label, e in zip(labels, per_atom, strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="name of an mlearn run, e.g. mlearn_Si_rb8")
    parser.add_argument("--split", choices=("test", "training"), default="test")
    parser.add_argument("--high-energy", type=float, help="eV/atom above the lowest: see above")
    args = parser.parse_args()
    checkpoint = ROOT / "runs" / "accuracy" / args.run / "best.pt"
    summary = RESULTS / f"{args.run}.json"
    for path in (checkpoint, summary):
        if not path.is_file():
            raise SystemExit(f"{path} does not exist; run that line of the table first")
    result = json.loads(summary.read_text())
    if result["benchmark"] != "mlearn":
        raise SystemExit(f"{args.run} is a {result['benchmark']} run; groups exist in mlearn only")

    import torch

    from hermnet.calculators import HermNetCalculator
    from hermnet.data import read_any

    torch.set_num_threads(1)
    data = result["config"]["data"]
    structures = read_any(ROOT / data["test" if args.split == "test" else "train"][0])
    groups = group_labels(structures, args.high_energy)
    element = result["config"]["model"]["elements"][0]
    models = {"HermNet": HermNetCalculator(str(checkpoint))}
    models.update({snap_model(element, q): snap_calculator(element, q) for q in (False, True)})
    table = {name: group_errors(calc, structures, groups) for name, calc in models.items()}
    suffix = "" if args.split == "test" else f"_{args.split}"
    write_json(
        RESULTS / "by_group" / f"{args.run}{suffix}.json",
        {
            "run": args.run,
            "split": args.split,
            "high_energy_eV_per_atom": args.high_energy,
            "groups": table,
        },
    )

    print("| group | structures | " + " | ".join(f"{m} E, F" for m in table) + " |")
    print("|---|---|" + "---|" * len(table))
    for group, first in table["HermNet"].items():
        cells = [
            f"{e['energy_per_atom_mae_meV']:.1f} meV/atom, {e['forces_mae_meV_A']:.0f} meV/Å"
            for e in (t[group] for t in table.values())
        ]
        print(f"| {group} | {first['structures']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
