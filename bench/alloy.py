"""The benchmarks' CoCrFeNi cell (equiatomic fcc, random species) and an untrained model of it.

Speed and memory do not depend on the weights, so benchmarks export an untrained model of
the requested architecture instead of training one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ELEMENTS = ["Co", "Cr", "Fe", "Ni"]


def cocrfeni(repeat: int, seed: int = 0):
    """repeat^3 cubic fcc cells (a = 3.56 Å, 4 repeat^3 atoms), exactly equiatomic species in
    random order, positions rattled by 0.05 Å."""
    from ase.build import bulk

    atoms = bulk("Ni", "fcc", a=3.56, cubic=True).repeat(repeat)
    rng = np.random.default_rng(seed)
    symbols = np.repeat(ELEMENTS, len(atoms) // len(ELEMENTS))
    rng.shuffle(symbols)
    atoms.set_chemical_symbols(list(symbols))
    atoms.rattle(0.05, seed=seed)
    return atoms


def export_untrained(
    path: Path, variant: str = "vertex", dtype: str = "float32", fused: bool = True, **sizes
) -> dict:
    """Export an untrained CoCrFeNi model (seed 0); its self-check frame is a 32-atom cell.
    fused=False exports the plain torch operator chains (hermnet export --unfused).
    Returns the model config with its parameter count."""
    import torch

    from hermnet.data.structure import Structure
    from hermnet.export import export_potential
    from hermnet.model import ModelConfig, build_model

    config = ModelConfig(elements=ELEMENTS, variant=variant, dtype=dtype, **sizes)
    torch.manual_seed(0)
    potential = build_model(config).eval()
    small = cocrfeni(2)
    frame = Structure(
        numbers=small.numbers,
        positions=small.positions,
        cell=small.cell.array,
        pbc=small.pbc,
        source="bench frame",
    )
    export_potential(
        potential, config, path, frame, dtype=dtype, training_data="untrained", fused=fused
    )
    return {
        **config.to_dict(),
        "num_parameters": sum(p.numel() for p in potential.parameters()),
        "fused_edges": fused,
    }
