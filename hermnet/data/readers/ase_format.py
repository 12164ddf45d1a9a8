"""Anything ase.io.read understands: extxyz, ASE .db/.json databases, VASP, ..."""

from __future__ import annotations

from pathlib import Path

import ase.io

from hermnet.data.errors import DataError
from hermnet.data.readers._common import existing_path, finish
from hermnet.data.structure import Structure


def read_ase(
    path: str | Path,
    index: str | int = ":",
    *,
    format: str | None = None,
    require_energy: bool = True,
    require_forces: bool = True,
) -> list[Structure]:
    """Read frames with ase.io.read; labels come from the SinglePointCalculator or info/arrays.

    ASE already works in eV, Å and eV/Å^3 (tensile positive), so values are taken as they are.
    """
    file = existing_path(path)
    if file.is_file() and file.stat().st_size == 0:  # ASE would call it an unknown format
        raise DataError(f"{file}: the file is empty, so no structures were read; regenerate it.")
    try:
        frames = ase.io.read(file, index=index, format=format)
    except Exception as exc:  # ASE raises many unrelated types for unreadable files
        raise DataError(
            f"{file}: ASE could not read this file ({type(exc).__name__}: {exc}). Pass "
            "format=... if the suffix is unusual, or convert the data to extended XYZ."
        ) from exc
    if not isinstance(frames, list):
        frames = [frames]
    # With ":" the position in the list is the frame number in the file; otherwise say
    # which selection it was counted in, so the source is not misleading.
    prefix = f"{file}#" if index == ":" else f"{file}@{index}#"
    structures = [Structure.from_atoms(atoms, f"{prefix}{k}") for k, atoms in enumerate(frames)]
    return finish(structures, file, require_energy=require_energy, require_forces=require_forces)
