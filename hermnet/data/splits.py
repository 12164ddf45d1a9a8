"""Reproducible train/validation split."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from hermnet.data.errors import DataError

T = TypeVar("T")


def _validation_count(n: int, fraction: float) -> int:
    """round(fraction * n), at least 1 if fraction > 0, leaving some for training."""
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
    return n_val


def split_train_validation(
    items: Sequence[T], fraction: float, seed: int = 0
) -> tuple[list[T], list[T]]:
    """Put round(fraction * n) random items (at least 1 if fraction > 0) in validation.

    The draw uses numpy's Generator(seed), so the split depends only on (n, fraction,
    seed). Both parts keep the input order, which keeps neighbouring frames readable.
    """
    n = len(items)
    n_val = _validation_count(n, fraction)
    permutation = np.random.default_rng(seed).permutation(n)
    val_index = np.sort(permutation[:n_val])
    train_index = np.sort(permutation[n_val:])
    return [items[i] for i in train_index], [items[i] for i in val_index]


def split_by_group(
    items: Sequence[T], groups: Sequence[object], fraction: float, seed: int = 0
) -> tuple[list[T], list[T]]:
    """Like split_train_validation, but each group gives the same share to validation.

    A random 5 % of a few hundred structures can miss a rare kind entirely (mlearn Si: no
    surface slab in the 11 validation cells of seeds 0 and 1), and then the checkpoint is
    chosen without looking at it. Here the validation count, the same as the random
    split's, is shared out in proportion to group sizes (largest remainders first), and
    every group keeps at least one structure for training.
    """
    if len(groups) != len(items):
        raise DataError(f"{len(items)} structures but {len(groups)} group labels")
    n_val = _validation_count(len(items), fraction)
    members: dict[object, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    # a fixed order that does not depend on dict or set iteration: None first, then by name
    order = sorted(members, key=lambda g: (g is not None, str(g)))
    share = {g: fraction * len(members[g]) for g in order}
    count = {g: min(int(share[g]), len(members[g]) - 1) for g in order}
    by_remainder = sorted(order, key=lambda g: share[g] - count[g], reverse=True)
    while sum(count.values()) < n_val:
        spare = [g for g in by_remainder if count[g] < len(members[g]) - 1]
        if not spare:
            raise DataError(
                f"cannot put {n_val} structures in validation while every group keeps one "
                "for training; lower the validation fraction"
            )
        for g in spare[: n_val - sum(count.values())]:
            count[g] += 1
    rng = np.random.default_rng(seed)
    val_index = sorted(
        members[g][i] for g in order for i in rng.permutation(len(members[g]))[: count[g]]
    )
    chosen = set(val_index)
    train_index = [i for i in range(len(items)) if i not in chosen]
    return [items[i] for i in train_index], [items[i] for i in val_index]
