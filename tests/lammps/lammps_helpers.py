"""LAMMPS runs of pair_style hermnet in subprocesses, and their reference values.

Every run writes per-atom results with dump custom (%.17g) and global ones with print, so
nothing is read back at thermo precision. Per-atom virials come from compute stress/atom
and centroid/stress/atom, global ones from compute pressure NULL virial; both are divided
by LAMMPS' nktv2p (src/update.cpp) to get the virial in energy units.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk

from hermnet.calculators import HermNetCalculator
from hermnet.export import load_exported
from hermnet.lammps.data import lammps_frame, write_data
from hermnet.lammps.run import LammpsRun, run_lammps
from tests.model.helpers import ELEMENTS, alloy, cu_h_cell, ethanol

NKTV2P = {"metal": 1.6021765e6, "real": 68568.415}  # pressure*volume per energy unit
EV_IN_KCAL_MOL = 23.060549  # utils::get_conversion_factor(ENERGY, METAL2REAL)
# dump columns after id: forces, pe/atom, stress/atom (6), centroid/stress/atom (9)
DUMP_COLUMNS = "fx fy fz c_pe " + " ".join(
    [f"c_s[{k}]" for k in range(1, 7)] + [f"c_cs[{k}]" for k in range(1, 10)]
)
# LAMMPS' order of the 9 centroid components as (row, column) of the 3x3 virial
CENTROID_ORDER = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2), (1, 0), (2, 0), (2, 1)]


def thin_cell() -> Atoms:
    """Cu (2 atoms, 2.55 x 2.55 x 3.6 Å: thinner than the cutoff) with an interstitial H."""
    atoms = bulk("Cu", "fcc", a=3.6, orthorhombic=True)
    atoms = atoms + Atoms("H", positions=[[0.6, 0.7, 1.5]])
    atoms.rattle(0.05, seed=4)
    return atoms


STRUCTURES = {
    "molecule": ethanol,
    "alloy": lambda: alloy(n_repeat=2, seed=1),
    "triclinic": lambda: cu_h_cell(triclinic=True),
    "thin": thin_cell,
}


def structure(name: str) -> Atoms:
    return lammps_frame(STRUCTURES[name]())


def boundary(atoms: Atoms) -> str:
    return "p p p" if atoms.pbc.all() else "f f f"


def pair_lines(model: Path | str, elements: list[str], options: str = "") -> str:
    return f"pair_style hermnet {model} {options}\npair_coeff * * {' '.join(elements)}\n"


def run0_script(
    atoms: Atoms,
    pair: str,
    units: str = "metal",
    before: str = "",
    after: str = "",
    post: str = "",
) -> str:
    return f"""units {units}
atom_style atomic
boundary {boundary(atoms)}
{before}
read_data data.lmp
{pair}
compute pe all pe/atom
compute s all stress/atom NULL virial
compute cs all centroid/stress/atom NULL virial
compute p all pressure NULL virial
thermo_style custom step pe c_p[1] c_p[2] c_p[3] c_p[4] c_p[5] c_p[6] vol
thermo_modify format float %20.15g
dump d all custom 1 atoms.dump id {DUMP_COLUMNS}
dump_modify d format float %.17g sort id
{after}
run 0
print "$(pe:%.17g) $(vol:%.17g) $(c_p[1]:%.17g) $(c_p[2]:%.17g) $(c_p[3]:%.17g) \
$(c_p[4]:%.17g) $(c_p[5]:%.17g) $(c_p[6]:%.17g)" file results.txt
undump d
{post}
"""


def run0(
    workdir: Path,
    atoms: Atoms,
    pair: str,
    species: list[str] | None = None,
    types=None,
    nprocs: int = 1,
    units: str = "metal",
    before: str = "",
    after: str = "",
    post: str = "",
    threads: int | None = None,
) -> dict:
    """`run 0`: energy, forces, per-atom energies, global and per-atom virials (LAMMPS units).

    Keys: energy, forces (n, 3), atomic_energy (n,), virial (3, 3), atomic_virial (n, 3, 3)
    from centroid/stress/atom, atomic_virial6 (n, 6) from stress/atom, run (the LammpsRun).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    write_data(workdir / "data.lmp", atoms, species or ELEMENTS, types)
    script = run0_script(atoms, pair, units, before, after, post)
    run = run_lammps(script, workdir, nprocs=nprocs, threads=threads)
    return read_run0(workdir, units, run)


def read_run0(workdir: Path, units: str, run: LammpsRun) -> dict:
    values = np.loadtxt(workdir / "results.txt")
    energy, volume, p = values[0], values[1], values[2:]
    xx, yy, zz, xy, xz, yz = p * volume / NKTV2P[units]
    table = np.loadtxt(workdir / "atoms.dump", skiprows=9, ndmin=2)
    assert np.array_equal(table[:, 0], np.arange(1, len(table) + 1))
    centroid = -table[:, 11:20] / NKTV2P[units]
    atomic_virial = np.zeros((len(table), 3, 3))
    for k, (a, b) in enumerate(CENTROID_ORDER):
        atomic_virial[:, a, b] = centroid[:, k]
    return {
        "energy": energy,
        "forces": table[:, 1:4],
        "atomic_energy": table[:, 4],
        "virial": np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]]),
        "atomic_virial": atomic_virial,
        "atomic_virial6": -table[:, 5:11] / NKTV2P[units],
        "run": run,
    }


def reference(model: Path | str, atoms: Atoms) -> dict:
    """The ASE calculator's energy, forces, per-atom energies and virial (-stress * V), with
    the exported model's per-atom virial (ASE has no such property) on the same structure."""
    atoms = atoms.copy()
    atoms.calc = HermNetCalculator(model=str(model))
    out = {
        "energy": atoms.get_potential_energy(),
        "forces": atoms.get_forces(),
        "atomic_energy": atoms.get_potential_energies(),
    }
    exported = load_exported(model).evaluate(
        atoms.positions,
        atoms.numbers,
        atoms.cell.array,
        atoms.pbc,
        compute_virial=True,
        compute_atomic_virial=True,
    )
    if atoms.pbc.all():
        stress = atoms.get_stress(voigt=False)
        out["virial"] = -stress.T * atoms.get_volume()
    else:
        out["virial"] = exported["virial"].double().numpy().reshape(3, 3)
    out["atomic_virial"] = exported["atomic_virial"].double().numpy()
    return out


def max_relative(a, b) -> float:
    """max |a - b| / max |b|: relative to the quantity's scale."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(float(np.abs(b).max(initial=0.0)), 1e-300)
    return float(np.abs(a - b).max(initial=0.0)) / scale


def assert_close(got: dict, expected: dict, keys, rtol: float) -> None:
    for key in keys:
        err = max_relative(got[key], expected[key])
        assert err < rtol, f"{key}: max relative difference {err:.3g} >= {rtol:.1g}"
