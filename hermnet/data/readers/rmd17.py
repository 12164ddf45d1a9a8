"""Revised MD17 .npz files (kcal/mol and Å, one molecule per file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hermnet.data.errors import DataError
from hermnet.data.readers._common import existing_path, finish
from hermnet.data.structure import Structure

# The dataset's README states 1 kcal/mol = 0.0433641 eV and we use exactly that, so our
# numbers match the published ones. ase.units.kcal / ase.units.mol = 0.04336410390 eV
# agrees to 9e-8 relative, far below the labels' own precision.
KCAL_PER_MOL_IN_EV = 0.0433641


def read_rmd17(
    path: str | Path,
    *,
    require_energy: bool = True,
    require_forces: bool = True,
) -> list[Structure]:
    """Read `nuclear_charges`, `coords` (Å), `energies` and `forces` (kcal/mol[/Å]).

    Molecules are non-periodic: zero cell, pbc False. The `old_*` MD17 labels are ignored.
    """
    file = existing_path(path)
    with np.load(file) as npz:
        missing = [key for key in ("nuclear_charges", "coords") if key not in npz]
        if missing:
            raise DataError(
                f"{file}: missing keys {missing} (found {sorted(npz.keys())}); an rMD17 file "
                "needs nuclear_charges, coords, energies and forces."
            )
        numbers = np.asarray(npz["nuclear_charges"], dtype=np.int64)
        coords = np.asarray(npz["coords"], dtype=np.float64)
        energies = npz.get("energies")
        forces = npz.get("forces")

    n_frames, _ = _check_shapes(file, numbers, coords, energies, forces)
    if energies is not None:
        energies = np.asarray(energies, dtype=np.float64).reshape(-1) * KCAL_PER_MOL_IN_EV
    if forces is not None:
        forces = np.asarray(forces, dtype=np.float64) * KCAL_PER_MOL_IN_EV
    structures = []
    for k in range(n_frames):
        structures.append(
            Structure(
                numbers=numbers.copy(),
                positions=coords[k],
                energy=None if energies is None else float(energies[k]),
                forces=None if forces is None else forces[k],
                source=f"{file}#{k}",
            )
        )
    return finish(structures, file, require_energy=require_energy, require_forces=require_forces)


def _check_shapes(
    file: Path,
    numbers: np.ndarray,
    coords: np.ndarray,
    energies: np.ndarray | None,
    forces: np.ndarray | None,
) -> tuple[int, int]:
    """Check the whole file at once so the message names the array, not one frame."""
    if numbers.ndim != 1 or coords.ndim != 3 or coords.shape[1:] != (len(numbers), 3):
        raise DataError(
            f"{file}: coords has shape {coords.shape} and nuclear_charges {numbers.shape}; "
            "expected (frames, n_atoms, 3) and (n_atoms,)."
        )
    n_frames, n_atoms = coords.shape[:2]
    if energies is not None and np.shape(energies) not in ((n_frames,), (n_frames, 1)):
        raise DataError(
            f"{file}: energies has shape {np.shape(energies)}; expected ({n_frames},) to "
            "match coords."
        )
    if forces is not None and np.shape(forces) != coords.shape:
        raise DataError(
            f"{file}: forces has shape {np.shape(forces)}; expected {coords.shape} to match "
            "coords (frames, n_atoms, 3)."
        )
    return n_frames, n_atoms
