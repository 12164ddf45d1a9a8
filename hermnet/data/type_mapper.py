"""Atomic numbers -> type indices into the model's ordered element list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from ase.data import atomic_numbers, chemical_symbols

from hermnet.data.errors import DataError
from hermnet.data.structure import Structure


class TypeMapper:
    """Maps atomic numbers to 0..T-1 in the order of the model's element list."""

    def __init__(self, elements: Sequence[str]) -> None:
        elements = tuple(elements)
        unknown = [symbol for symbol in elements if symbol not in atomic_numbers]
        if unknown or not elements:
            raise DataError(
                f"TypeMapper: {unknown or 'an empty list'} is not a valid element list; give "
                "element symbols such as ['C', 'H', 'O']."
            )
        if len(set(elements)) != len(elements):
            raise DataError(f"TypeMapper: element list {list(elements)} has duplicates.")
        self.elements: tuple[str, ...] = elements
        self.atomic_numbers = np.array([atomic_numbers[s] for s in elements], dtype=np.int64)
        # A lookup table makes types() one vectorised gather; -1 marks "not in the model".
        self._lookup = np.full(len(chemical_symbols), -1, dtype=np.int64)
        self._lookup[self.atomic_numbers] = np.arange(len(elements))

    @classmethod
    def from_structures(cls, structures: Iterable[Structure]) -> TypeMapper:
        """All elements present, ordered by atomic number (a reproducible default)."""
        present = sorted({int(z) for s in structures for z in np.unique(s.numbers)})
        return cls([chemical_symbols[z] for z in present])

    @property
    def num_types(self) -> int:
        return len(self.elements)

    def __len__(self) -> int:
        return len(self.elements)

    def __repr__(self) -> str:
        return f"TypeMapper({list(self.elements)})"

    def types(self, numbers: npt.ArrayLike, source: str = "<unknown>") -> np.ndarray:
        """Type index (int64) of each atom; DataError for elements the model does not know."""
        numbers = np.asarray(numbers, dtype=np.int64)
        valid = (numbers >= 0) & (numbers < len(self._lookup))
        types = np.where(valid, self._lookup[np.where(valid, numbers, 0)], -1)
        if np.any(types < 0):
            missing = sorted({int(z) for z in numbers[types < 0]})
            names = [
                chemical_symbols[z] if 0 < z < len(chemical_symbols) else str(z) for z in missing
            ]
            raise DataError(
                f"{source}: element(s) {names} are not in the model's elements "
                f"{list(self.elements)}. Remove these structures, or train a model whose "
                "element list includes them."
            )
        return types
