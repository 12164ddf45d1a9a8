"""Exported tiny models and the three evaluation paths of the parity chain."""

import numpy as np
import torch
from ase import Atoms

from hermnet.data.neighbors import build_graph
from hermnet.data.structure import Structure
from hermnet.export import export_potential
from tests.model.helpers import ELEMENTS, alloy, evaluate, tiny_config, tiny_potential

# Outputs of the exported contract that the parity tests compare.
OUTPUTS = ("energy", "atomic_energy", "forces", "virial", "atomic_virial")


def frame_of(atoms: Atoms, source: str = "test frame") -> Structure:
    return Structure(
        numbers=atoms.numbers,
        positions=atoms.positions,
        cell=atoms.cell.array,
        pbc=atoms.pbc,
        source=source,
    )


def export_tiny(
    variant: str,
    path,
    dtype: str = "float64",
    tf32: bool = False,
    fused: bool = True,
    **overrides,
) -> dict:
    potential = tiny_potential(variant, **overrides)
    config = tiny_config(variant, **overrides)
    frame = frame_of(alloy(n_repeat=1, seed=3), "alloy-4 atoms")
    return export_potential(
        potential,
        config,
        path,
        frame,
        dtype=dtype,
        training_data="tests",
        tf32=tf32,
        fused=fused,
    )


def graph(atoms: Atoms, cutoff: float):
    edge_index, edge_shift = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, cutoff)
    types = np.array([ELEMENTS.index(s) for s in atoms.get_chemical_symbols()], dtype=np.int64)
    return types, edge_index, edge_shift


def eager_outputs(potential, atoms: Atoms) -> dict[str, np.ndarray]:
    """The Python model (HermNetPotential) in the contract's shapes, float64 numpy."""
    out = evaluate(potential, atoms, atomic_virial=True)
    out = {k: v.double().numpy() for k, v in out.items() if k != "stress"}
    out["virial"] = out["virial"][0]
    return out


def as_numpy(out: dict) -> dict[str, np.ndarray]:
    return {
        k: (v.detach().cpu().double().numpy() if isinstance(v, torch.Tensor) else np.asarray(v))
        for k, v in out.items()
    }


def max_relative(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max |b|: relative to the quantity's scale (elementwise is ill-posed at 0)."""
    scale = max(float(np.abs(b).max(initial=0.0)), 1e-300)
    return float(np.abs(a - b).max(initial=0.0)) / scale
