"""Pick a reader from the path: suffix, or folder layout for DeePMD-kit data."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

from hermnet.data.errors import DataError
from hermnet.data.readers._common import existing_path, finish, nonempty
from hermnet.data.readers.ase_format import read_ase
from hermnet.data.readers.deepmd import is_deepmd_folder, read_deepmd
from hermnet.data.readers.mlearn import is_mlearn_items, load_json, structures_from_mlearn
from hermnet.data.readers.rmd17 import read_rmd17
from hermnet.data.structure import Structure


def read_any(
    path_or_glob: str | Path,
    *,
    require_energy: bool = True,
    require_forces: bool = True,
) -> list[Structure]:
    """Read a file, a DeePMD folder (or a folder of them) or a glob of those, in sorted order.

    .npz -> rMD17; folder with type.raw -> DeePMD-kit; folder whose subfolders have type.raw
    -> all of them; .json holding a list of {structure, outputs} -> mlearn; else ASE.
    """
    flags = {"require_energy": require_energy, "require_forces": require_forces}
    structures: list[Structure] = []
    for path in _expand(path_or_glob):
        structures.extend(_read_one(path, flags))
    return nonempty(structures, path_or_glob)  # each reader has validated its frames


def read_many(
    paths: Iterable[str | Path],
    *,
    require_energy: bool = True,
    require_forces: bool = True,
) -> list[Structure]:
    """read_any over several paths or globs, concatenated in the order given."""
    flags = {"require_energy": require_energy, "require_forces": require_forces}
    paths = list(paths)
    if not paths:
        raise DataError("read_many: no paths were given; list at least one file, folder or glob.")
    structures: list[Structure] = []
    for path in paths:
        structures.extend(read_any(path, **flags))
    return nonempty(structures, f"{[str(p) for p in paths]}")


def _expand(path_or_glob: str | Path) -> list[Path]:
    text = str(path_or_glob)
    if not any(char in text for char in "*?["):
        return [existing_path(text)]
    matches = sorted(glob.glob(text, recursive=True))
    if not matches:
        raise DataError(
            f"{text}: the pattern matches no file or folder. Check the folder and the pattern "
            "(quote it in the shell so that it reaches hermnet unexpanded)."
        )
    return [Path(match) for match in matches]


def _read_one(path: Path, flags: dict[str, bool]) -> list[Structure]:
    if path.is_dir():
        if is_deepmd_folder(path):
            return read_deepmd(path, **flags)
        systems = sorted(child for child in path.iterdir() if is_deepmd_folder(child))
        if not systems:
            raise DataError(
                f"{path}: a folder is read only as DeePMD-kit data (type.raw + set.*/) or as a "
                "folder of such systems, and this is neither. Give the data files instead, "
                "e.g. 'folder/*.extxyz'."
            )
        return [s for system in systems for s in read_deepmd(system, **flags)]
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return read_rmd17(path, **flags)
    if suffix == ".json":
        items = load_json(path)
        if is_mlearn_items(items):
            return finish(structures_from_mlearn(items, path), path, **flags)
    return read_ase(path, **flags)
