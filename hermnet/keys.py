"""Field names shared by data, model, training and export.

Each name is written down once here; every shape is given as (rows, columns) with
N atoms, E edges and G structures in a batch. Units are eV and Å throughout.
"""

from typing import Final

# Inputs -------------------------------------------------------------------
POSITIONS: Final = "positions"  # (N, 3) float | Cartesian positions, Å
TYPES: Final = "types"  # (N,) int64 | index into the model's ordered element list
EDGE_INDEX: Final = "edge_index"  # (2, E) int64 | row 0: center i, row 1: neighbor j
EDGE_SHIFT: Final = "edge_shift"  # (E, 3) float | Å; d_ij = r_j - r_i + shift
BATCH: Final = "batch"  # (N,) int64 | structure index of each atom
CELL: Final = "cell"  # (G, 3, 3) float | rows are cell vectors, Å (zeros if open)
NUM_ATOMS: Final = "num_atoms"  # (G,) int64 | atoms per structure

# Outputs and labels ---------------------------------------------------------
ENERGY: Final = "energy"  # (G,) float | total energy, eV
ATOMIC_ENERGY: Final = "atomic_energy"  # (N,) float | per-atom energy, eV
FORCES: Final = "forces"  # (N, 3) float | eV/Å
VIRIAL: Final = "virial"  # (G, 3, 3) float | W = -sum_e d_e (x) dE/dd_e, eV
ATOMIC_VIRIAL: Final = "atomic_virial"  # (N, 3, 3) float | per-atom split of W, eV
STRESS: Final = "stress"  # (G, 3, 3) float | -W / volume, eV/Å^3 (ASE sign: + = tensile)
