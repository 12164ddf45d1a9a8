"""Dataset statistics used to initialise the model's energy shift and scale."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from hermnet.data.errors import DataError
from hermnet.data.structure import Structure
from hermnet.data.type_mapper import TypeMapper

# Forces below this RMS (eV/Å) count as "all zero", e.g. a set of relaxed structures.
_ZERO_FORCE_RMS = 1e-6


def composition_matrix(structures: Sequence[Structure], type_mapper: TypeMapper) -> np.ndarray:
    """(S, T) float64 counts of each model element in each structure."""
    counts = np.zeros((len(structures), type_mapper.num_types))
    for row, structure in enumerate(structures):
        types = type_mapper.types(structure.numbers, structure.source)
        counts[row] = np.bincount(types, minlength=type_mapper.num_types)
    return counts


def fit_reference_energies(structures: Sequence[Structure], type_mapper: TypeMapper) -> np.ndarray:
    """Per-element energies e (T,) minimising sum_s (E_s - sum_t n_st e_t)^2 (eV).

    np.linalg.lstsq returns the minimum-norm solution when the compositions do not pin
    every element down, e.g. rMD17, where all frames are the same molecule. Then only the
    sum over the molecule's composition is determined, and that sum is exact, which is all
    the energy shift needs. Elements absent from the data get 0.
    """
    energies = _energies(structures)
    counts = composition_matrix(structures, type_mapper)
    solution, *_ = np.linalg.lstsq(counts, energies, rcond=None)
    return solution


def force_rms(structures: Sequence[Structure]) -> float:
    """RMS of all force components (eV/Å), the natural scale of a force-trained model.

    Falls back to the RMS of per-atom energy residuals (after reference energies) when
    there are no non-zero forces, and to 1.0 with a warning if that is zero too, because
    the result divides the model's output and must never be 0.
    """
    if len(structures) == 0:
        raise DataError("force_rms: the dataset is empty; read some structures first.")
    forces = [s.forces for s in structures if s.forces is not None]
    if forces:
        rms = float(np.sqrt(np.mean(np.square(np.concatenate(forces)))))
        if rms > _ZERO_FORCE_RMS:
            return rms
    labelled = [s for s in structures if s.energy is not None]
    if labelled:
        mapper = TypeMapper.from_structures(labelled)
        counts = composition_matrix(labelled, mapper)
        energies = _energies(labelled)
        residual = energies - counts @ fit_reference_energies(labelled, mapper)
        rms = float(np.sqrt(np.mean(np.square(residual / counts.sum(axis=1)))))
        if rms > _ZERO_FORCE_RMS:
            return rms
    warnings.warn(
        "force_rms: forces are all zero and energies carry no spread; using scale 1.0",
        stacklevel=2,
    )
    return 1.0


def _energies(structures: Sequence[Structure]) -> np.ndarray:
    if len(structures) == 0:
        raise DataError("fit_reference_energies: the dataset is empty; read structures first.")
    missing = [s.source for s in structures if s.energy is None]
    if missing:
        raise DataError(
            f"{missing[0]}: no energy label ({len(missing)} structures lack one); reference "
            "energies need the total energy of every structure."
        )
    return np.array([s.energy for s in structures], dtype=np.float64)
