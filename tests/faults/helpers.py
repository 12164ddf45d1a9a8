"""Small Cu data and a tiny training config for the fault tests (seconds per run)."""

import numpy as np
import yaml
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write


def frames(count: int, seed: int = 0, overlap_at: int | None = None):
    """Rattled 4-atom Cu cells with made-up labels; frame `overlap_at` has atoms 0 and 1
    0.1 Å apart."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        if k == overlap_at:
            atoms.positions[1] = atoms.positions[0] + [0.1, 0.0, 0.0]
        atoms.calc = SinglePointCalculator(
            atoms,
            energy=-3.5 * len(atoms) + rng.normal(scale=0.01),
            forces=rng.normal(scale=0.1, size=(len(atoms), 3)),
        )
        out.append(atoms)
    return out


def config(tmp_path, train_frames, validation_frames=None, elements=("Cu",), **sections):
    write(tmp_path / "train.extxyz", train_frames)
    write(tmp_path / "val.extxyz", validation_frames or frames(2, seed=1))
    raw = {
        "model": {
            "elements": list(elements),
            "cutoff": 4.0,
            "features": 8,
            "radial_basis": 4,
            "layers": 1,
            "dtype": "float64",
        },
        "data": {"train": ["train.extxyz"], "validation": ["val.extxyz"]},
        "training": {"epochs": 2, "batch_size": 2, "seed": 0, "tensorboard": False},
        "output": "run",
    }
    for name, values in sections.items():
        raw[name].update(values)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path
