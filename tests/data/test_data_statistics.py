"""Reference energies, force scale and the train/validation split."""

import numpy as np
import pytest

from hermnet.data import (
    DataError,
    Structure,
    TypeMapper,
    fit_reference_energies,
    force_rms,
    split_by_group,
    split_train_validation,
)

MAPPER = TypeMapper(["H", "C", "O"])
TRUE_REFERENCE = {1: -13.6, 6: -1029.8, 8: -2041.3}


def synthetic(compositions, forces=0.0):
    structures = []
    for k, numbers in enumerate(compositions):
        numbers = np.array(numbers)
        structures.append(
            Structure(
                numbers=numbers,
                positions=np.arange(3 * len(numbers), dtype=float).reshape(-1, 3),
                energy=sum(TRUE_REFERENCE[z] for z in numbers),
                forces=np.full((len(numbers), 3), forces),
                source=f"synthetic#{k}",
            )
        )
    return structures


def test_recovers_exact_reference_energies():
    structures = synthetic([[1, 1, 8], [6, 1, 1, 1, 1], [6, 8, 8], [1, 1], [6, 6, 1, 8]])
    fitted = fit_reference_energies(structures, MAPPER)
    np.testing.assert_allclose(fitted, [-13.6, -1029.8, -2041.3], rtol=1e-12)


def test_single_composition_gives_exact_total():
    structures = synthetic([[6, 1, 1, 1, 1]] * 4)  # rank 1: min-norm split, exact total
    fitted = fit_reference_energies(structures, MAPPER)
    assert fitted @ [4, 1, 0] == pytest.approx(structures[0].energy, rel=1e-12)
    assert fitted[2] == 0.0  # oxygen never appears


def test_force_rms_and_its_fallback():
    assert force_rms(synthetic([[1, 8]], forces=0.3)) == pytest.approx(0.3)
    relaxed = synthetic([[1, 1, 8], [1, 8], [8, 8], [1, 1, 1, 8]])
    relaxed[0].energy += 0.9  # residual 0.3 eV/atom on one of four structures
    scale = force_rms(relaxed)
    assert 0 < scale < 0.3
    with pytest.raises(DataError, match="empty"):
        force_rms([])
    with pytest.raises(DataError, match="empty"):
        fit_reference_energies([], MAPPER)


def test_split_is_deterministic_and_disjoint():
    items = list(range(100))
    train, val = split_train_validation(items, 0.1, seed=3)
    assert len(val) == 10 and len(train) == 90 and not set(train) & set(val)
    assert split_train_validation(items, 0.1, seed=3) == (train, val)
    assert split_train_validation(items, 0.1, seed=4)[1] != val
    assert len(split_train_validation(items[:5], 0.01)[1]) == 1
    with pytest.raises(DataError, match="nothing is left for training"):
        split_train_validation(items[:1], 0.5)


def test_split_by_group_gives_each_group_its_share():
    # the mlearn Si training set's group sizes: a random 5 % often has no surface at all
    groups = ["AIMD"] * 90 + ["Vacancy"] * 57 + ["Elastic"] * 55 + ["Surface"] * 12
    items = list(range(len(groups)))
    train, val = split_by_group(items, groups, 0.05, seed=0)
    assert len(val) == len(split_train_validation(items, 0.05, seed=0)[1]) == 11
    # floors 4, 2, 2, 0 (4.5, 2.85, 2.75, 0.6); the 3 left go to the largest remainders
    shares = {g: sum(groups[i] == g for i in val) for g in set(groups)}
    assert shares == {"AIMD": 4, "Vacancy": 3, "Elastic": 3, "Surface": 1}
    assert sorted(train + val) == items and train == sorted(train) and val == sorted(val)
    assert split_by_group(items, groups, 0.05, seed=0) == (train, val)
    assert split_by_group(items, groups, 0.05, seed=1)[1] != val


def test_split_by_group_keeps_every_group_in_training():
    groups = [None] * 8 + ["lonely"] + ["pair"] * 2
    train, val = split_by_group(list(range(11)), groups, 0.4, seed=5)
    assert len(val) == 4 and 8 in train  # the single "lonely" structure is never held out
    assert sum(i in (9, 10) for i in val) <= 1
    with pytest.raises(DataError, match="every group keeps one"):
        split_by_group(list(range(4)), ["a", "b", "c", "c"], 0.5)
    with pytest.raises(DataError, match="3 structures but 2 group labels"):
        split_by_group([1, 2, 3], ["a", "b"], 0.5)
