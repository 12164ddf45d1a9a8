"""Checks of a whole dataset before training: what a single structure cannot tell.

Overlapping atoms make the loss NaN (a zero-length edge has no direction), which used to
surface as "training diverged" or as a validation error of inf; structures without an
edge at the cutoff and model elements that no structure has train nothing and said
nothing. These checks name the structure and the fix instead. They read the neighbor
graphs the dataset has already built, so they cost one pass over the edges.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase.data import chemical_symbols

from hermnet.data.dataset import GraphDataset
from hermnet.data.errors import DataError


def closest_pair(dataset: GraphDataset, index: int) -> tuple[float, int, int]:
    """(distance in Å, i, j) of the closest pair of structure `index`; inf when it has no edge."""
    graph = dataset.graphs[index]
    if graph.num_edges == 0:
        return float("inf"), -1, -1
    positions = dataset.structures[index].positions  # float64, whatever the model dtype
    edges = graph.edge_index.numpy()
    shifts = graph.edge_shift.double().numpy()
    lengths = np.linalg.norm(positions[edges[1]] - positions[edges[0]] + shifts, axis=1)
    k = int(np.argmin(lengths))
    return float(lengths[k]), int(edges[0, k]), int(edges[1, k])


def check_distances(dataset: GraphDataset, part: str, min_distance: float) -> None:
    """DataError naming the first structure with two atoms closer than `min_distance`."""
    if min_distance <= 0:
        return
    bad = []
    for index in range(len(dataset)):
        distance, i, j = closest_pair(dataset, index)
        if distance < min_distance:
            bad.append((index, distance, i, j))
    if not bad:
        return
    index, distance, i, j = bad[0]
    structure = dataset.structures[index]
    numbers = structure.numbers
    others = f" ({len(bad) - 1} more {part} structures too)" if len(bad) > 1 else ""
    raise DataError(
        f"{structure.source}: atoms {i} ({chemical_symbols[numbers[i]]}) and {j} "
        f"({chemical_symbols[numbers[j]]}) are {distance:.3g} Å apart, closer than "
        f"data.min_distance ({min_distance:g} Å){others}; such a pair makes the loss NaN. "
        "Remove the frame from the file or fix its positions; lower data.min_distance only "
        "if the pair is real"
    )


def edgeless_warning(dataset: GraphDataset, cutoff: float) -> str | None:
    """A DataError when no training structure has an edge, a warning when some have none."""
    lonely = [
        s.source
        for s, g in zip(dataset.structures, dataset.graphs, strict=True)
        if g.num_edges == 0 and len(s) > 1
    ]
    if not lonely:
        return None
    if all(g.num_edges == 0 for g in dataset.graphs):
        raise DataError(
            f"no training structure has two atoms within the cutoff (model.cutoff = "
            f"{cutoff:g} Å), so the model could only learn a constant per element; raise "
            "model.cutoff above the nearest-neighbor distance of the data"
        )
    return (
        f"warning: {len(lonely)} of {len(dataset)} training structures have no two atoms "
        f"within the cutoff ({cutoff:g} Å), e.g. {lonely[0]}; the model sees their atoms as "
        "isolated. Raise model.cutoff if that is not intended"
    )


def absent_elements_warning(
    structures: Sequence, elements: Sequence[str], numbers: Sequence[int]
) -> str | None:
    present = {int(z) for s in structures for z in np.unique(s.numbers)}
    absent = [e for e, z in zip(elements, numbers, strict=True) if z not in present]
    if not absent:
        return None
    return (
        f"warning: {len(absent)} of the model's {len(elements)} elements ({', '.join(absent)}) "
        "appear in no training structure; their energies and interactions stay untrained. "
        "Add data with them, or drop them from model.elements"
    )
