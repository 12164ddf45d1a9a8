"""Checks shared by all readers: the path exists, something was read, every frame is valid."""

from __future__ import annotations

from pathlib import Path

from hermnet.data.errors import DataError
from hermnet.data.structure import Structure
from hermnet.files import PATH_RULE


def existing_path(path: str | Path) -> Path:
    """Return `path` as a Path, or raise a DataError that says where we looked."""
    resolved = Path(path)
    if not resolved.exists():
        raise DataError(
            f"{resolved}: no such file or folder (looked in {resolved.absolute()}). Check the "
            f"spelling, or give an absolute path: {PATH_RULE}."
        )
    return resolved


def finish(
    structures: list[Structure],
    origin: str | Path,
    *,
    require_energy: bool,
    require_forces: bool,
) -> list[Structure]:
    """Validate every structure and refuse an empty result."""
    nonempty(structures, origin)
    for structure in structures:
        structure.validate(require_energy=require_energy, require_forces=require_forces)
    return structures


def nonempty(structures: list[Structure], origin: str | Path) -> list[Structure]:
    """Refuse an empty result, which would otherwise surface later as a confusing error."""
    if not structures:
        raise DataError(
            f"{origin}: no structures were read. Check that the file is not empty and that "
            "the frame selection (index) matches something."
        )
    return structures
