"""One atomic structure with its labels, in eV and Å, independent of any file format."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.stress import full_3x3_to_voigt_6_stress, voigt_6_to_full_3x3_stress

from hermnet.data.errors import DataError

# Periodic cell vectors spanning less than this (Å, Å^2 or Å^3) are treated as degenerate.
_MIN_PERIODIC_MEASURE = 1e-8


@dataclass
class Structure:
    """Atoms, cell and optional labels of one structure.

    Units are eV and Å. `stress` is (1/V) dE/dstrain in eV/Å^3 with ASE's sign (positive =
    tensile); readers convert every other convention at the file boundary. `source` says
    where the structure came from ("path#frame") so that error messages can point there.
    """

    numbers: np.ndarray  # (n,) int64 atomic numbers
    positions: np.ndarray  # (n, 3) float64, Å
    cell: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))  # rows = cell vectors, Å
    pbc: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=bool))  # (3,) bool
    energy: float | None = None  # total energy, eV
    forces: np.ndarray | None = None  # (n, 3) eV/Å
    stress: np.ndarray | None = None  # (3, 3) eV/Å^3, ASE sign
    source: str = "<memory>"
    # Kind of structure ("Surface", "AIMD-NVT", ...): mlearn's group, extxyz info
    # config_type. data.config_type_weights weights the loss by it.
    config_type: str | None = None

    def __post_init__(self) -> None:
        # Coerce dtypes only; shapes are checked by validate() so the message can name the
        # source instead of failing deep inside numpy.
        self.numbers = np.asarray(self.numbers, dtype=np.int64)
        self.positions = np.asarray(self.positions, dtype=np.float64)
        self.cell = np.asarray(self.cell, dtype=np.float64)
        pbc = np.asarray(self.pbc, dtype=bool)
        self.pbc = np.repeat(pbc, 3) if pbc.ndim == 0 else pbc
        if self.energy is not None:
            self.energy = float(self.energy)
        if self.forces is not None:
            self.forces = np.asarray(self.forces, dtype=np.float64)
        if self.stress is not None:
            self.stress = np.asarray(self.stress, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.numbers)

    @property
    def volume(self) -> float:
        """|det(cell)| in Å^3 (ASE's definition, so left-handed cells are fine)."""
        return float(abs(np.linalg.det(self.cell)))

    def validate(self, require_energy: bool = False, require_forces: bool = False) -> Structure:
        """Raise DataError on inconsistent or non-finite data; return self for chaining."""
        n = self._check_shapes()
        self._check_finite()
        self._check_cell()
        if n == 0:
            self._fail("has no atoms", "remove the empty frame from the dataset")
        if np.any(self.numbers < 1) or np.any(self.numbers > 118):
            bad = sorted(set(self.numbers[(self.numbers < 1) | (self.numbers > 118)].tolist()))
            self._fail(f"has invalid atomic numbers {bad}", "atomic numbers must be 1..118")
        if require_energy and self.energy is None:
            self._fail(
                "has no energy label",
                "training needs a total energy per structure; add it to the file or read "
                "with require_energy=False if the labels are not needed",
            )
        if require_forces and self.forces is None:
            self._fail(
                "has no forces",
                "training needs forces on every atom; add them to the file or read with "
                "require_forces=False if forces are not needed (e.g. energy-only data)",
            )
        return self

    def _fail(self, problem: str, fix: str) -> None:
        raise DataError(f"{self.source}: structure {problem}; {fix}.")

    def _check_shapes(self) -> int:
        if self.numbers.ndim != 1:
            self._fail(f"numbers has shape {self.numbers.shape}", "expected (n_atoms,)")
        n = len(self.numbers)
        expected = {
            "positions": (self.positions, (n, 3)),
            "cell": (self.cell, (3, 3)),
            "pbc": (self.pbc, (3,)),
            "forces": (self.forces, (n, 3)),
            "stress": (self.stress, (3, 3)),
        }
        for name, (array, shape) in expected.items():
            if array is not None and array.shape != shape:
                self._fail(
                    f"{name} has shape {array.shape} but {n} atoms need {shape}",
                    "check that the file's arrays belong to the same frame and atom count",
                )
        return n

    def _check_finite(self) -> None:
        arrays = {
            "positions": self.positions,
            "cell": self.cell,
            "energy": None if self.energy is None else np.array(self.energy),
            "forces": self.forces,
            "stress": self.stress,
        }
        for name, array in arrays.items():
            if array is not None and not np.all(np.isfinite(array)):
                self._fail(
                    f"{name} contains NaN or inf",
                    "drop this frame or fix the label (a failed DFT step often leaves NaN)",
                )

    def _check_cell(self) -> None:
        # Only the periodic directions need a real cell: a slab may have a zero third vector.
        # The Gram determinant is the squared length/area/volume they span.
        periodic = self.cell[self.pbc]
        if len(periodic) == 0:
            return
        measure = float(np.sqrt(max(np.linalg.det(periodic @ periodic.T), 0.0)))
        if measure <= _MIN_PERIODIC_MEASURE:
            self._fail(
                f"has pbc={self.pbc.tolist()} but its periodic cell vectors span zero volume "
                f"(cell={self.cell.tolist()})",
                "give the real cell vectors, or set pbc=False for a non-periodic system",
            )

    @classmethod
    def from_atoms(cls, atoms: Atoms, source: str) -> Structure:
        """Build from ASE Atoms, taking labels from a calculator's results or info/arrays.

        ASE already uses eV, Å and eV/Å^3 with the tensile-positive sign, so nothing is
        rescaled; only Voigt stress is expanded to 3x3. Calculator results win over info.
        """
        results = dict(atoms.calc.results) if atoms.calc is not None else {}
        energy = results.get("energy", atoms.info.get("energy"))
        forces = results.get("forces", atoms.arrays.get("forces"))
        stress = results.get("stress", atoms.info.get("stress"))
        return cls(
            numbers=atoms.numbers.copy(),
            positions=atoms.positions.copy(),
            cell=atoms.cell.array.copy(),
            pbc=atoms.pbc.copy(),
            energy=None if energy is None else float(energy),
            forces=None if forces is None else np.array(forces, dtype=np.float64),
            stress=None if stress is None else _stress_to_3x3(stress, source),
            source=source,
            config_type=_config_type(atoms.info.get("config_type")),
        )

    def to_atoms(self) -> Atoms:
        """ASE Atoms with a SinglePointCalculator holding the labels (stress as Voigt 6)."""
        atoms = Atoms(numbers=self.numbers, positions=self.positions, cell=self.cell, pbc=self.pbc)
        labels = {
            "energy": self.energy,
            "forces": self.forces,
            "stress": None if self.stress is None else full_3x3_to_voigt_6_stress(self.stress),
        }
        labels = {key: value for key, value in labels.items() if value is not None}
        if labels:
            atoms.calc = SinglePointCalculator(atoms, **labels)
        if self.config_type is not None:
            atoms.info["config_type"] = self.config_type
        return atoms


def _config_type(value: object) -> str | None:
    return None if value is None else str(value)


def _stress_to_3x3(stress: object, source: str) -> np.ndarray:
    """Accept ASE's Voigt order (xx yy zz yz xz xy), a flat 9-vector or a 3x3 matrix."""
    array = np.asarray(stress, dtype=np.float64)
    if array.shape == (6,):
        return voigt_6_to_full_3x3_stress(array)
    if array.size == 9:
        return array.reshape(3, 3)
    raise DataError(
        f"{source}: stress has shape {array.shape}; expected 6 Voigt components "
        "(xx yy zz yz xz xy) or a 3x3 matrix."
    )
