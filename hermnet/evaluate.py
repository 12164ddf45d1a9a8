"""`hermnet evaluate`: error metrics of a checkpoint or an exported model on datasets.

Energy per atom, force and stress MAE/RMSE per dataset, a printed table, a JSON file and
parity plots. A dataset whose structures carry several config_types (mlearn groups, extxyz
info config_type) also gets one row per kind: a total can hide that one kind of structure
(surfaces, vacancies) carries most of the error. Reuses the trainer's evaluation loop and
plots so that numbers agree with the training log to the last digit. An exported model
runs through the C++ core (hermnet.export.batched), as in LAMMPS.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from hermnet.data import GraphDataset, TypeMapper, collate, read_any
from hermnet.files import write_text
from hermnet.model.checkpoint import load_potential
from hermnet.train.evaluation import evaluate
from hermnet.train.loss import LossWeights, MetricAccumulator
from hermnet.train.plots import parity_plot

EV_PER_A3_IN_GPA = 160.21766208


def _slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path.rstrip("/")).name) or "data"


def _metrics(potential, items, model, dtype, batch_size: int, device: str):
    loader = DataLoader(
        GraphDataset(items, TypeMapper(model.elements), model.cutoff, dtype),
        batch_size=batch_size,
        shuffle=False,
        collate_fn=collate,
    )
    return evaluate(
        potential, loader, torch.device(device), LossWeights(1.0, 1.0, 1.0), collect=True
    )


def _by_kind(potential, items, model, dtype, batch_size: int, device: str):
    """Each config_type evaluated once; the whole set's sums are the kinds' sums added.

    Returns the whole set's metrics, its prediction arrays (grouped by kind, which the
    parity plots do not mind) and {kind: metrics} when there are several named kinds.
    """
    groups: dict = {}
    for s in items:
        groups.setdefault(s.config_type, []).append(s)
    total = MetricAccumulator()
    arrays: dict[str, list] = {}
    per_kind = {}
    for kind, subset in groups.items():
        metrics, kind_arrays = _metrics(potential, subset, model, dtype, batch_size, device)
        total.sums += metrics.sums.cpu()
        for key, value in kind_arrays.items():
            arrays.setdefault(key, []).append(value)
        values = metrics.compute()
        values.update(_per_structure(kind_arrays, subset))
        per_kind[kind] = (subset, values)
    named = sorted(k for k in per_kind if k is not None)
    kinds = {k: per_kind[k] for k in named} if len(named) > 1 else {}
    joined = {key: np.concatenate(values) for key, values in arrays.items()}
    values = total.compute()
    values.update(_per_structure(joined, [s for subset in groups.values() for s in subset]))
    return values, joined, kinds


def _per_structure(arrays: dict, items) -> dict[str, float]:
    """Energy errors per structure, eV (molecular benchmarks quote them per molecule);
    `arrays` are in the order of `items`."""
    atoms = np.array([len(s) for s in items], dtype=np.float64)
    error = (arrays["energy_per_atom_pred"] - arrays["energy_per_atom_ref"]) * atoms
    if not error.size:
        return {"energy_structure_mae": float("nan"), "energy_structure_rmse": float("nan")}
    return {
        "energy_structure_mae": float(np.mean(np.abs(error))),
        "energy_structure_rmse": float(np.sqrt(np.mean(error**2))),
    }


def _row(name: str, items, values: dict) -> dict:
    row = {
        "name": name,
        "structures": len(items),
        "atoms": sum(len(s) for s in items),
        "energy_per_atom_mae": values["energy_mae"],
        "energy_per_atom_rmse": values["energy_rmse"],
        "energy_per_structure_mae": values["energy_structure_mae"],
        "energy_per_structure_rmse": values["energy_structure_rmse"],
        "forces_mae": values["force_mae"],
        "forces_rmse": values["force_rmse"],
    }
    if values["stress_mae"] == values["stress_mae"]:  # not NaN: stress labels present
        row["stress_mae"] = values["stress_mae"]
        row["stress_rmse"] = values["stress_rmse"]
    return row


def evaluate_checkpoint(
    checkpoint: str | Path,
    datasets: list[str],
    out_dir: str | Path,
    batch_size: int = 16,
    device: str = "cpu",
) -> dict:
    """Evaluate `checkpoint` (a training checkpoint or an exported model) on each dataset;
    write metrics.json and plots into out_dir."""
    out_dir = Path(out_dir)
    potential, model, dtype = _load(checkpoint, device)
    # Read everything first: a bad dataset must fail before any output is written.
    structures = {path: read_any(path) for path in datasets}
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for path, items in structures.items():
        name = _slug(path)
        values, arrays, kinds = _by_kind(potential, items, model, dtype, batch_size, device)
        plots = {
            "energy": out_dir / f"{name}_energy_parity.png",
            "forces": out_dir / f"{name}_forces_parity.png",
        }
        parity_plot(
            arrays["energy_per_atom_pred"],
            arrays["energy_per_atom_ref"],
            plots["energy"],
            f"{name}: energy per atom",
            "eV/atom",
        )
        parity_plot(
            arrays["forces_pred"], arrays["forces_ref"], plots["forces"], f"{name}: forces", "eV/Å"
        )
        row = _row(name, items, values)
        row["path"] = str(path)
        row["plots"] = {key: str(value) for key, value in plots.items()}
        if kinds:
            row["by_config_type"] = [_row(k, sub, v) for k, (sub, v) in kinds.items()]
        results.append(row)
    report = {"checkpoint": str(checkpoint), "model": model.describe, "datasets": results}
    write_text(out_dir / "metrics.json", json.dumps(report, indent=2))
    return report


@dataclass
class _Model:
    elements: list[str]
    cutoff: float
    describe: dict  # the report's "model" entry


def _load(path: str | Path, device: str):
    """(callable potential, _Model, graph dtype) for a checkpoint or an exported model."""
    from hermnet.export import is_exported_model

    if is_exported_model(path):
        from hermnet.export.batched import ExportedPotential
        from hermnet.export.keys import METADATA_MODEL_CONFIG

        exported = ExportedPotential(path, device)
        config = exported.metadata.get(METADATA_MODEL_CONFIG) or {}
        describe = {**config, "exported": True, "engine": exported.engine}
        model = _Model(exported.elements, exported.cutoff, describe)
        return exported, model, torch.float64  # the engine casts to the model's dtype
    potential, config, _ = load_potential(path, device=device)
    model = _Model(list(config.elements), config.cutoff, config.to_dict())
    return potential, model, next(potential.parameters()).dtype


# Table columns: (header, unit, row key, factor from the stored eV/Å units). Stress in
# GPa, as the docs and DFT codes quote it; energies per atom and per structure (molecular
# benchmarks quote per molecule).
_COLUMNS = (
    ("E MAE", "meV/atom", "energy_per_atom_mae", 1e3),
    ("E RMSE", "meV/atom", "energy_per_atom_rmse", 1e3),
    ("E MAE", "meV/struct", "energy_per_structure_mae", 1e3),
    ("F MAE", "meV/Å", "forces_mae", 1e3),
    ("F RMSE", "meV/Å", "forces_rmse", 1e3),
    ("S MAE", "GPa", "stress_mae", EV_PER_A3_IN_GPA),
    ("S RMSE", "GPa", "stress_rmse", EV_PER_A3_IN_GPA),
)


def format_table(report: dict) -> str:
    rows = [
        item
        for row in report["datasets"]
        for item in [(row, "")] + [(kind, "  ") for kind in row.get("by_config_type", [])]
    ]
    width = max([len("dataset")] + [len(indent + row["name"]) for row, indent in rows])
    header = f"{'dataset':{width}s} {'structs':>7s} " + " ".join(
        f"{title:>10s}" for title, *_ in _COLUMNS
    )
    units = f"{'':{width}s} {'':>7s} " + " ".join(f"{unit:>10s}" for _, unit, *_ in _COLUMNS)
    lines = [header, units]
    for row, indent in rows:
        cells = " ".join(
            f"{'-':>10s}" if row.get(key) is None else f"{row[key] * factor:10.3f}"
            for _, _, key, factor in _COLUMNS
        )
        lines.append(f"{indent + row['name']:{width}s} {row['structures']:7d} {cells}")
    return "\n".join(lines)
