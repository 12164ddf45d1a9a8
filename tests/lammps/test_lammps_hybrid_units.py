"""hybrid/overlay adds hermnet to another style, NULL leaves types to it, several types may
share an element, and `units real` is `units metal` converted to kcal/mol."""

import numpy as np
import pytest
from ase.data import atomic_numbers

from tests.lammps.lammps_helpers import (
    EV_IN_KCAL_MOL,
    assert_close,
    pair_lines,
    reference,
    run0,
    structure,
)
from tests.model.helpers import ELEMENTS

OUTPUTS = ("energy", "forces", "atomic_energy", "virial", "atomic_virial", "atomic_virial6")


def zbl_lines(species, prefix="zbl") -> str:
    """ZBL between every pair of types (nonzero below 3 Å, so between the alloy's neighbors)."""
    z = [atomic_numbers[s] for s in species]
    return "\n".join(
        f"pair_coeff {i + 1} {j + 1} {prefix} {z[i]} {z[j]}"
        for i in range(len(z))
        for j in range(i, len(z))
    )


@pytest.mark.parametrize("nprocs", [1, 2])
def test_overlay_with_zbl_is_the_sum_of_its_parts(tmp_path, models, nprocs):
    """Also on two ranks, where hybrid hands hermnet a skip list with ghost neighbors."""
    atoms = structure("alloy")
    model = models["pair"]
    alone = run0(tmp_path / "hermnet", atoms, pair_lines(model, ELEMENTS))
    zbl = run0(tmp_path / "zbl", atoms, "pair_style zbl 2.0 3.0\n" + zbl_lines(ELEMENTS, prefix=""))
    overlay = run0(
        tmp_path / "overlay",
        atoms,
        f"pair_style hybrid/overlay hermnet {model} zbl 2.0 3.0\n"
        f"pair_coeff * * hermnet {' '.join(ELEMENTS)}\n" + zbl_lines(ELEMENTS),
        nprocs=nprocs,
    )
    assert abs(zbl["energy"]) > 1e-3 and np.abs(zbl["forces"]).max() > 1e-3  # ZBL does act
    total = {k: alone[k] + zbl[k] for k in OUTPUTS}
    assert_close(overlay, total, OUTPUTS, rtol=1e-10)


@pytest.mark.parametrize("nprocs", [1, 2])
def test_null_types_are_left_to_the_other_style(tmp_path, models, nprocs):
    """He (type 5, not in the model) interacts only through ZBL; hermnet sees the rest."""
    atoms = structure("alloy")
    helium = [0, 7, 13, 22]
    symbols = atoms.get_chemical_symbols()
    for i in helium:
        symbols[i] = "He"
    atoms.set_chemical_symbols(symbols)
    species = [*ELEMENTS, "He"]
    model = models["vertex"]
    zbl_alone = "pair_style zbl 2.0 3.0\n" + zbl_lines(species, prefix="")
    zbl = run0(tmp_path / "zbl", atoms, zbl_alone, species)
    overlay = run0(
        tmp_path / "overlay",
        atoms,
        f"pair_style hybrid/overlay hermnet {model} zbl 2.0 3.0\n"
        f"pair_coeff * * hermnet {' '.join(ELEMENTS)} NULL\n" + zbl_lines(species),
        species,
        nprocs=nprocs,
    )
    assert "atom types 1 -> H, 2 -> C, 3 -> O, 4 -> Cu, 5 -> NULL" in overlay["run"].output
    keep = np.array([i for i in range(len(atoms)) if i not in helium])
    sub = reference(model, atoms[keep])
    expected = {k: zbl[k].copy() for k in ("energy", "forces", "atomic_energy", "virial")}
    expected["energy"] += sub["energy"]
    expected["forces"][keep] += sub["forces"]
    expected["atomic_energy"][keep] += sub["atomic_energy"]
    expected["virial"] += sub["virial"]
    assert_close(overlay, expected, expected.keys(), rtol=1e-10)


def test_two_types_of_one_element(tmp_path, models):
    """Cu split over LAMMPS types 4 and 5 gives the same results as one Cu type."""
    atoms = structure("alloy")
    model = models["triad"]
    one = run0(tmp_path / "one", atoms, pair_lines(model, ELEMENTS))
    species = [*ELEMENTS, "Cu"]
    types = [ELEMENTS.index(s) + 1 for s in atoms.get_chemical_symbols()]
    copper = [i for i, t in enumerate(types) if t == 4]
    for i in copper[::2]:
        types[i] = 5
    two = run0(tmp_path / "two", atoms, pair_lines(model, species), species, types)
    assert "4 -> Cu, 5 -> Cu" in two["run"].output
    assert_close(two, one, OUTPUTS, rtol=1e-12)


@pytest.mark.parametrize("name", ["alloy", "molecule"])
def test_units_real_is_units_metal_in_kcal_per_mol(tmp_path, models, name):
    atoms = structure(name)
    pair = pair_lines(models["pair"], ELEMENTS)
    metal = run0(tmp_path / "metal", atoms, pair)
    real = run0(tmp_path / "real", atoms, pair, units="real")
    assert "HermNet: units real: energies x 23.060549" in real["run"].output
    converted = {k: metal[k] * EV_IN_KCAL_MOL for k in OUTPUTS}
    assert_close(real, converted, OUTPUTS, rtol=1e-10)
