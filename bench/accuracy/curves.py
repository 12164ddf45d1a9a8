"""Validation curves of several runs side by side: the best validation error each run had
reached after equal training time and after equal epochs.

    python bench/accuracy/curves.py rmd17_ethanol_rb8 rmd17_ethanol_pair20
    python bench/accuracy/curves.py mlearn_Si_rb8 mlearn_Si_adamw --metric val_energy_mae

A/B lines are trained two at a time on a shared machine, so one variant may get fewer
epochs than the other in the same minutes. The test error alone then hides whether a
change learns more per epoch but costs more per epoch; both views together show it.
Reads runs/accuracy/<run>/metrics.csv (not committed: run the lines first). Values are
printed x1000: meV per atom for energies, meV/Å for forces.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

RUNS = Path(__file__).resolve().parents[2] / "runs" / "accuracy"
MINUTES = (5, 10, 20, 30, 60, 100)
EPOCHS = (10, 30, 100, 200, 400)


def read_curve(path: Path, metric: str) -> list[tuple[int, float, float]]:
    """(epoch, training minutes, metric) for every validated epoch of a metrics.csv."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and metric not in rows[0]:
        columns = ", ".join(k for k in rows[0] if k.startswith("val_"))
        raise SystemExit(f"{path} has no column {metric!r}; validation columns: {columns}")
    return [
        (int(r["epoch"]), float(r["elapsed"]) / 60.0, float(r[metric]))
        for r in rows
        if r.get(metric)
    ]


def best_until(curve: list[tuple[int, float, float]], axis: int, limit: float) -> float | None:
    """Lowest metric among the points of a non-empty curve with curve[axis] <= limit; None
    if the run never got that far (a short run is not credited with what it did not reach)."""
    if curve[-1][axis] < limit:
        return None
    return min(point[2] for point in curve if point[axis] <= limit)


def table(curves: dict[str, list], axis: int, marks: tuple, unit: str) -> list[str]:
    marks = [m for m in marks if any(c[-1][axis] >= m for c in curves.values())]
    lines = ["| run | " + " | ".join(f"{m} {unit}" for m in marks) + " | end |"]
    lines.append("|---|" + "---|" * (len(marks) + 1))
    for name, curve in curves.items():
        cells = [best_until(curve, axis, m) for m in marks]
        text = ["" if c is None else f"{1000 * c:.1f}" for c in cells]
        end = f"{1000 * min(p[2] for p in curve):.1f} ({curve[-1][0]} ep, {curve[-1][1]:.0f} min)"
        lines.append(f"| {name} | " + " | ".join(text) + f" | {end} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="names under runs/accuracy/")
    parser.add_argument("--metric", default="val_force_mae", help="a val_* column of metrics.csv")
    args = parser.parse_args()
    curves = {}
    for name in args.runs:
        path = RUNS / name / "metrics.csv"
        if not path.is_file():
            raise SystemExit(f"{path} does not exist; run that line first")
        curves[name] = read_curve(path, args.metric)
        if not curves[name]:
            raise SystemExit(f"{path} has no validated epoch yet")
    print(f"Best {args.metric} (meV) reached by equal training time:\n")
    print("\n".join(table(curves, 1, MINUTES, "min")))
    print(f"\nBest {args.metric} (meV) reached by equal epoch:\n")
    print("\n".join(table(curves, 0, EPOCHS, "ep")))


if __name__ == "__main__":
    main()
