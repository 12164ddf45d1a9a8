"""Reproducible train/validation split."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from hermnet.data.errors import DataError

T = TypeVar("T")


def split_train_validation(
    items: Sequence[T], fraction: float, seed: int = 0
) -> tuple[list[T], list[T]]:
    """Put round(fraction * n) random items (at least 1 if fraction > 0) in validation.

    The draw uses numpy's Generator(seed), so the split depends only on (n, fraction,
    seed). Both parts keep the input order, which keeps neighbouring frames readable.
    """
    n = len(items)
    if not 0.0 <= fraction < 1.0:
        raise DataError(f"validation fraction must be in [0, 1), got {fraction}.")
    n_val = round(fraction * n)
    if fraction > 0:
        n_val = max(n_val, 1)
    if n_val >= n:
        raise DataError(
            f"cannot split {n} structures with validation fraction {fraction}: nothing is "
            "left for training. Add data or lower the fraction."
        )
    permutation = np.random.default_rng(seed).permutation(n)
    val_index = np.sort(permutation[:n_val])
    train_index = np.sort(permutation[n_val:])
    return [items[i] for i in train_index], [items[i] for i in val_index]
