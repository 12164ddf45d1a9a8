"""The benchmarks' CoCrFeNi cell: equiatomic fcc with random species."""

from __future__ import annotations

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
