"""DeePMD-kit npy folders: type.raw, type_map.raw and set.*/{coord,box,energy,force,virial}.npy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase.data import atomic_numbers

from hermnet.data.errors import DataError
from hermnet.data.readers._common import existing_path, finish
from hermnet.data.structure import Structure


def is_deepmd_folder(path: Path) -> bool:
    return path.is_dir() and (path / "type.raw").is_file()


def read_deepmd(
    folder: str | Path,
    *,
    require_energy: bool = True,
    require_forces: bool = True,
) -> list[Structure]:
    """Read every set.* of one DeePMD-kit system (eV, Å; periodic unless a `nopbc` file exists).

    DeePMD's virial W (eV, 9 components) is W = -dE/dstrain, so the ASE stress is -W / V.
    """
    root = existing_path(folder)
    if not is_deepmd_folder(root):
        raise DataError(
            f"{root}: not a DeePMD-kit folder (no type.raw). Point to the folder holding "
            "type.raw, type_map.raw and set.*/ (or a folder of such folders)."
        )
    numbers = _atomic_numbers(root)
    periodic = not (root / "nopbc").exists()
    sets = sorted(p for p in root.glob("set.*") if p.is_dir())
    if not sets:
        raise DataError(f"{root}: no set.* folders; DeePMD-kit data lives in set.000/ etc.")
    structures: list[Structure] = []
    for set_dir in sets:
        structures.extend(_read_set(set_dir, numbers, periodic))
    return finish(structures, root, require_energy=require_energy, require_forces=require_forces)


def _atomic_numbers(root: Path) -> np.ndarray:
    map_file = root / "type_map.raw"
    if not map_file.is_file():
        raise DataError(
            f"{root}: no type_map.raw, so the type indices in type.raw cannot be turned into "
            f"elements. Write the element symbols in type-index order, one per line (e.g. "
            f"'O' then 'H'), to {map_file}."
        )
    type_map = map_file.read_text().split()
    unknown = [symbol for symbol in type_map if symbol not in atomic_numbers]
    if unknown:
        raise DataError(f"{map_file}: {unknown} are not element symbols; fix type_map.raw.")
    types = np.loadtxt(root / "type.raw", dtype=np.int64, ndmin=1)
    if types.size and (types.min() < 0 or types.max() >= len(type_map)):
        raise DataError(
            f"{root}: type.raw uses type indices {types.min()}..{types.max()} but type_map.raw "
            f"lists only {len(type_map)} elements {type_map}; add the missing symbols."
        )
    return np.array([atomic_numbers[type_map[t]] for t in types], dtype=np.int64)


def _load(set_dir: Path, name: str, n_frames: int | None, width: int) -> np.ndarray | None:
    """Load set_dir/name.npy as (frames, width) float64, or None when the file is absent."""
    file = set_dir / f"{name}.npy"
    if not file.is_file():
        return None
    array = np.asarray(np.load(file), dtype=np.float64)
    frames = array.shape[0] if array.ndim else 0
    if array.size != (n_frames if n_frames is not None else frames) * width:
        raise DataError(
            f"{file}: shape {array.shape} does not fit {n_frames} frames x {width} values; "
            "all arrays of a set must hold the same frames and atoms (check type.raw)."
        )
    return array.reshape(-1, width)


def _read_set(set_dir: Path, numbers: np.ndarray, periodic: bool) -> list[Structure]:
    n = len(numbers)
    coord = _load(set_dir, "coord", None, 3 * n)
    if coord is None:
        raise DataError(f"{set_dir}: coord.npy is missing; every DeePMD-kit set needs it.")
    frames = len(coord)
    box = _load(set_dir, "box", frames, 9)
    if periodic and box is None:
        raise DataError(
            f"{set_dir}: box.npy is missing for a periodic system; add it, or put an empty "
            "file named nopbc in the system folder for a non-periodic one."
        )
    energy = _load(set_dir, "energy", frames, 1)
    force = _load(set_dir, "force", frames, 3 * n)
    virial = _load(set_dir, "virial", frames, 9)

    structures = []
    for k in range(frames):
        cell = box[k].reshape(3, 3) if periodic else np.zeros((3, 3))
        stress = None
        if virial is not None and periodic:
            stress = -virial[k].reshape(3, 3) / abs(np.linalg.det(cell))
        structures.append(
            Structure(
                numbers=numbers.copy(),
                positions=coord[k].reshape(n, 3),
                cell=cell,
                pbc=np.full(3, periodic),
                energy=None if energy is None else float(energy[k, 0]),
                forces=None if force is None else force[k].reshape(n, 3),
                stress=stress,
                source=f"{set_dir}#{k}",
            )
        )
    return structures
