"""ASE structures as LAMMPS data files, in LAMMPS' own orientation.

LAMMPS stores a periodic cell as a = (lx, 0, 0), b = (xy, ly, 0), c = (xz, yz, lz). A cell in
any other orientation is rotated by read_data tools, and forces and virials come back
rotated; :func:`lammps_frame` does the rotation once, so that the ASE structure and the
LAMMPS run see the same coordinates and every output can be compared component by component.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from hermnet.files import write_text

__all__ = ["lammps_frame", "write_data"]


def lammps_frame(atoms: Atoms) -> Atoms:
    """A copy rotated so that its cell is lower triangular with a positive diagonal, wrapped.

    Fully periodic cells only; a non-periodic structure is returned unchanged (write_data
    puts it in a vacuum box).
    """
    atoms = atoms.copy()
    if not atoms.pbc.any():
        return atoms
    if not atoms.pbc.all():
        raise ValueError("lammps_frame: mixed periodicity is not supported; use pbc all or none")
    cell = atoms.cell.array
    if np.linalg.det(cell) <= 0:
        raise ValueError("lammps_frame: LAMMPS needs a right-handed cell (positive determinant)")
    q, r = np.linalg.qr(cell.T)
    signs = np.sign(np.diag(r))
    q = q * signs
    atoms.set_cell(cell @ q, scale_atoms=False)
    atoms.positions = atoms.positions @ q
    atoms.set_cell(np.tril(atoms.cell.array), scale_atoms=False)  # exact zeros above
    atoms.wrap()
    return atoms


def write_data(
    path: str | os.PathLike,
    atoms: Atoms,
    species: Sequence[str],
    types: Sequence[int] | None = None,
    vacuum: float = 10.0,
) -> None:
    """Write `atoms` (already in lammps_frame) as an `atom_style atomic` data file.

    species: the element of each LAMMPS type (type t is species[t - 1]); several types may
    name one element. types: the LAMMPS type of each atom (default: by element, the first
    type naming it). A non-periodic structure gets an orthogonal box `vacuum` Å wider than
    it on each side.
    """
    symbols = atoms.get_chemical_symbols()
    if types is None:
        types = [list(species).index(s) + 1 for s in symbols]
    types = np.asarray(types, dtype=int)
    if types.shape != (len(atoms),) or types.min(initial=1) < 1 or types.max() > len(species):
        raise ValueError("write_data: need one type in 1..len(species) per atom")
    positions = atoms.positions
    if atoms.pbc.all():
        cell = atoms.cell.array
        if np.abs(np.triu(cell, 1)).max() > 0 or (np.diag(cell) <= 0).any():
            raise ValueError("write_data: rotate the structure with lammps_frame first")
        lo = np.zeros(3)
        hi = np.diag(cell)
        tilt = (cell[1, 0], cell[2, 0], cell[2, 1])
    elif not atoms.pbc.any():
        lo = positions.min(axis=0) - vacuum
        hi = positions.max(axis=0) + vacuum
        tilt = (0.0, 0.0, 0.0)
    else:
        raise ValueError("write_data: mixed periodicity is not supported")
    lines = [
        "LAMMPS data file written by hermnet.lammps.data",
        "",
        f"{len(atoms)} atoms",
        f"{len(species)} atom types",
        "",
    ]
    lines += [f"{lo[k]:.17g} {hi[k]:.17g} {a}lo {a}hi" for k, a in enumerate("xyz")]
    if any(tilt):
        lines.append("{:.17g} {:.17g} {:.17g} xy xz yz".format(*tilt))
    lines += ["", "Masses", ""]
    lines += [f"{t} {atomic_masses[atomic_numbers[s]]:.10g}" for t, s in enumerate(species, 1)]
    lines += ["", "Atoms # atomic", ""]
    lines += [
        f"{i} {t} {x:.17g} {y:.17g} {z:.17g}"
        for i, (t, (x, y, z)) in enumerate(zip(types, positions, strict=True), 1)
    ]
    write_text(path, "\n".join(lines) + "\n")  # atomic: WriteError, old file intact
