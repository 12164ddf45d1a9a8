"""Read the configured data, split it and build graph datasets."""

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
from ase.data import chemical_symbols

from hermnet.data import (
    DataError,
    GraphDataset,
    Structure,
    TypeMapper,
    read_many,
    split_by_group,
    split_train_validation,
)
from hermnet.data.checks import absent_elements_warning, check_distances, edgeless_warning
from hermnet.train.config import DataConfig, TrainConfig


@dataclass
class TrainingData:
    train: GraphDataset
    validation: GraphDataset
    test: GraphDataset | None
    type_mapper: TypeMapper
    description: str
    warnings: list[str] = field(default_factory=list)  # for the run log


def _subset(structures: list[Structure], limit: int | None, seed: int) -> list[Structure]:
    """A seeded random subset of `limit` structures, kept in input order."""
    if limit is None or limit >= len(structures):
        return structures
    keep = np.sort(np.random.default_rng(seed).permutation(len(structures))[:limit])
    return [structures[i] for i in keep]


def _dataset(
    structures: list[Structure], mapper: TypeMapper, cutoff: float, dtype, weights=None
) -> GraphDataset:
    return GraphDataset(structures, mapper, cutoff, dtype, weights)


def _config_type_weights(weights: dict[str, float] | None, train: list[Structure]):
    """The configured weights, after checking that each names a kind present in train."""
    if not weights:
        return None
    kinds = {s.config_type for s in train}
    unknown = sorted(set(weights) - kinds)
    if unknown:
        present = sorted(kind for kind in kinds if kind is not None)
        raise DataError(
            f"data.config_type_weights names {unknown}, which no training structure has; "
            f"the training set's kinds are {present or 'none (the files give no config_type)'}"
            " (mlearn group, extxyz info config_type)"
        )
    return weights


def _split(structures: list[Structure], fraction: float, data: DataConfig, seed: int):
    """Train and validation parts of one list, and how they were made (for the log)."""
    if data.validation_split == "random":
        train, validation = split_train_validation(structures, fraction, seed)
        return train, validation, f"fraction {fraction} of train"
    kinds = [s.config_type for s in structures]
    if all(kind is None for kind in kinds):
        raise DataError(
            "data.validation_split: stratified needs a config_type on the structures (mlearn "
            "group, extxyz info config_type), and these files give none; use "
            "validation_split: random (from the command line: --set "
            "data.validation_split=random)"
        )
    train, validation = split_by_group(structures, kinds, fraction, seed)
    per_kind = Counter(s.config_type for s in validation)
    shares = ", ".join(f"{kind} {per_kind[kind]}" for kind in sorted(per_kind, key=str))
    return train, validation, f"fraction {fraction} of each config_type: {shares}"


def _describe(paths: list[str] | None, structures: list[Structure]) -> str:
    atoms = sum(len(s) for s in structures)
    names = ", ".join(paths) if paths else "-"
    return f"{len(structures)} structures ({atoms} atoms) from {names}"


def load_training_data(config: TrainConfig, dtype: torch.dtype) -> TrainingData:
    """Read, split, subsample and graph the data (DataError on any problem)."""
    data, seed = config.data, config.training.seed
    mapper = TypeMapper(config.model.elements)
    structures = read_many(data.train)
    if data.validation is not None:
        train, validation = structures, read_many(data.validation)
        how = "files"
    else:
        train, validation, how = _split(structures, data.validation_fraction, data, seed)
    train = _subset(train, data.max_train, seed)
    validation = _subset(validation, data.max_validation, seed + 1)
    test = read_many(data.test) if data.test else None
    if not train:
        raise DataError(f"no training structures in {data.train}")
    if not validation:
        raise DataError("the validation set is empty; add data or raise validation_fraction")

    weights = _config_type_weights(data.config_type_weights, train)
    present = sorted({int(z) for s in train for z in np.unique(s.numbers)})
    cutoff = config.model.cutoff
    description = (
        f"train: {_describe(data.train, train)}"
        + (f", max_train={data.max_train}" if data.max_train else "")
        + f"; validation: {len(validation)} structures ({how})"
        + (f"; test: {_describe(data.test, test)}" if test else "")
        + f"; elements in train: {[chemical_symbols[z] for z in present]}"
        + f"; model elements: {list(mapper.elements)}"
        + (f"; loss weights by config_type: {weights}" if weights else "")
    )
    result = TrainingData(
        train=_dataset(train, mapper, cutoff, dtype, weights),
        validation=_dataset(validation, mapper, cutoff, dtype, weights),
        # weighted like validation, so that the test loss compares with the validation one
        test=_dataset(test, mapper, cutoff, dtype, weights) if test else None,
        type_mapper=mapper,
        description=description,
    )
    for part in ("train", "validation", "test"):
        dataset = getattr(result, part)
        if dataset is not None:
            check_distances(dataset, part, data.min_distance)
    notes = (
        edgeless_warning(result.train, cutoff),
        absent_elements_warning(train, mapper.elements, mapper.atomic_numbers),
    )
    result.warnings = [note for note in notes if note]
    return result
