"""Committee model deviation, defined and written exactly as DeePMD-kit does.

For K models trained alike (different seeds) and one frame of N atoms, with <.> the mean
over the models and std the population standard deviation (numpy's default, ddof=0):

    force, per atom   e_f[i] = sqrt(<|F_k[i] - <F[i]>|^2>)        (eV/Å)
                      max_devi_f, min_devi_f, avg_devi_f: max, min and mean over atoms
    virial            e_v[ab] = std_k(W_k[ab] / N)                (eV per atom; 9 components)
                      max_devi_v, min_devi_v: max and min over the 9 components,
                      avg_devi_v = sqrt(mean of e_v[ab]^2) (DeePMD's norm / 3)
    energy            devi_e = std_k(E_k / N)                      (eV per atom)

`relative=L` divides each atom's force deviation by |<F[i]>| + L (DeePMD's `relative
LEVEL`, pair_style deepmd and `dp model-devi --relative`); `relative_v=L` divides the
virial deviation by |<W / N>| + L, the norm over all nine components, as `dp model-devi
--relative_v` does (pair_style deepmd's relative_v divides component by component instead).
Only the spread matters, so the virial's sign convention does not.

model_devi.out: one header line and one row per frame, in the widths of pair_style
deepmd (`%12d` then `%19.6e` per column):

    #       step         max_devi_v         min_devi_v         avg_devi_v  ...  devi_e
    step  max_devi_v  min_devi_v  avg_devi_v  max_devi_f  min_devi_f  avg_devi_f  devi_e

devi_e is written by `dp model-devi` (DeePMD-kit 2.2 and later) and not by pair_style
deepmd; `atomic` appends one column per atom (`atm_devi_f(N)`). Readers that take columns
by position (DP-GEN: max_devi_f is column 4) read the first seven columns either way.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from hermnet.files import write_text

VIRIAL_COLUMNS = ("max_devi_v", "min_devi_v", "avg_devi_v")
FORCE_COLUMNS = ("max_devi_f", "min_devi_f", "avg_devi_f")
ENERGY_COLUMN = "devi_e"
ATOMIC_COLUMN = "atm_devi_f(N)"
COLUMNS = ("step", *VIRIAL_COLUMNS, *FORCE_COLUMNS, ENERGY_COLUMN)


def force_deviation(forces, relative: float | None = None) -> np.ndarray:
    """Per-atom force deviation (N,) of forces (K, N, 3) from K models."""
    forces = _committee(forces, "forces", trailing=2)
    devi = np.linalg.norm(np.std(forces, axis=0), axis=-1)
    if relative is not None:
        devi = devi / (np.linalg.norm(np.mean(forces, axis=0), axis=-1) + relative)
    return devi


def virial_deviation(virials, n_atoms: int, relative_v: float | None = None) -> np.ndarray:
    """Per-component deviation (9,) of the per-atom virials of K models (K, 3, 3) or (K, 9)."""
    virials = np.asarray(virials, dtype=np.float64).reshape(-1, 9) / n_atoms
    _committee(virials, "virials", trailing=1)
    devi = np.std(virials, axis=0)
    if relative_v is not None:
        devi = devi / (np.linalg.norm(np.mean(virials, axis=0)) + relative_v)
    return devi


def energy_deviation(energies, n_atoms: int) -> float:
    """std over the K models of the energy per atom."""
    energies = _committee(energies, "energies", trailing=0)
    return float(np.std(energies / n_atoms))


@dataclass(frozen=True)
class Deviation:
    """The model deviation of one frame: the columns of model_devi.out, and per atom."""

    max_devi_v: float
    min_devi_v: float
    avg_devi_v: float
    max_devi_f: float
    min_devi_f: float
    avg_devi_f: float
    devi_e: float
    atomic_f: np.ndarray  # (N,) per-atom force deviation, eV/Å (relative if asked)
    virial: np.ndarray  # (3, 3) per-component virial deviation, eV per atom

    def row(self) -> list[float]:
        return [getattr(self, name) for name in COLUMNS[1:]]


def frame_deviation(
    energies,
    forces,
    virials,
    relative: float | None = None,
    relative_v: float | None = None,
) -> Deviation:
    """Energies (K,) eV, forces (K, N, 3) eV/Å and virials (K, 3, 3) eV of K models."""
    forces = _committee(forces, "forces", trailing=2)
    n_atoms = forces.shape[1]
    if n_atoms == 0:
        raise ValueError("the model deviation of a frame without atoms is undefined")
    f = force_deviation(forces, relative)
    v = virial_deviation(virials, n_atoms, relative_v)
    return Deviation(
        max_devi_v=float(v.max()),
        min_devi_v=float(v.min()),
        avg_devi_v=float(np.linalg.norm(v) / 3.0),
        max_devi_f=float(f.max()),
        min_devi_f=float(f.min()),
        avg_devi_f=float(f.mean()),
        devi_e=energy_deviation(energies, n_atoms),
        atomic_f=f,
        virial=v.reshape(3, 3),
    )


def _committee(values, what: str, trailing: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != trailing + 1 or values.shape[0] < 2:
        raise ValueError(
            f"{what} of a committee: expected one entry per model for at least two models "
            f"(shape (K, ...) with K >= 2), got shape {values.shape}"
        )
    return values


# ------------------------------------------------------------------ model_devi.out
def format_header(atomic: bool = False, energy: bool = True) -> str:
    """The header line of model_devi.out (pair_style deepmd's widths), without newline."""
    names = [*VIRIAL_COLUMNS, *FORCE_COLUMNS] + ([ENERGY_COLUMN] if energy else [])
    names += [ATOMIC_COLUMN] if atomic else []
    return "#" + f"{'step':>11}" + "".join(f"{name:>19}" for name in names)


def format_row(step: int, deviation: Deviation, atomic: bool = False, energy: bool = True) -> str:
    values = deviation.row() if energy else deviation.row()[:-1]
    if atomic:
        values += list(deviation.atomic_f)
    return f"{int(step):12d}" + "".join(f"{value:19.6e}" for value in values)


def format_model_devi(steps, deviations, atomic: bool = False, energy: bool = True) -> str:
    lines = [format_header(atomic, energy)]
    lines += [format_row(s, d, atomic, energy) for s, d in zip(steps, deviations, strict=True)]
    return "\n".join(lines) + "\n"


def write_model_devi(
    path: str | os.PathLike, steps, deviations, atomic: bool = False, energy: bool = True
) -> None:
    """Write model_devi.out atomically (a failed write leaves the previous file)."""
    write_text(path, format_model_devi(steps, deviations, atomic, energy))


class ModelDeviFileError(ValueError):
    """A model_devi.out that cannot be read; the message names the file and the problem."""


def read_model_devi(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Columns of a model_devi.out by name: ours, pair_style deepmd's or dp model-devi's.

    Returns "step" (int), the six virial and force columns, "devi_e" when present and
    "atomic_f" (rows, N) when the file has per-atom columns.
    """
    from hermnet.files import require_file

    path = require_file(path, "model deviation file")
    header = None
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            if "max_devi_f" in line:
                header = line.lstrip("#").split()
    if header is None or header[:1] != ["step"]:
        raise ModelDeviFileError(
            f"{path} is not a model_devi.out: no header line '#  step  max_devi_v ...' "
            "(write it with `hermnet deviation` or pair_style hermnet/deepmd out_file)"
        )
    try:
        with warnings.catch_warnings():  # a run stopped before its first row: no rows
            warnings.simplefilter("ignore", UserWarning)
            table = np.loadtxt(path, comments="#", ndmin=2)
    except ValueError as err:
        raise ModelDeviFileError(f"{path}: a row could not be read as numbers ({err})") from err
    atomic = ATOMIC_COLUMN in header
    named = header[: header.index(ATOMIC_COLUMN)] if atomic else header
    if table.shape[0] and (
        table.shape[1] < len(named) or (not atomic and table.shape[1] != len(named))
    ):
        raise ModelDeviFileError(
            f"{path}: the header names {len(named)} columns but the rows have "
            f"{table.shape[1]}; the file is damaged or was written by two runs at once"
        )
    table = table.reshape(-1, max(table.shape[1], len(named)))
    columns = {name: table[:, k] for k, name in enumerate(named)}
    columns["step"] = columns["step"].astype(np.int64)
    if atomic:
        columns["atomic_f"] = table[:, len(named) :]
    return columns
