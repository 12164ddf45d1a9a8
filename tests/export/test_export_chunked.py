"""Chunked evaluation in the C++ core (Model::set_chunk_edges): the same results as the whole
graph, for the whole-graph path (periodic shifts, explicit ghosts with their own edges) and
for the hop driver with ghost exchange.

Chunking changes only summation order, so float64 agrees to 1e-10 of each quantity's scale.
A graph at or under the chunk size takes the unchunked path, so the tests use chunk sizes
of a few centers' edges to force many chunks with halos.
"""

import numpy as np
import pytest

from hermnet.export import keys, load_core, load_exported
from tests.export.export_helpers import export_tiny, graph, max_relative
from tests.export.test_export_hops import STRUCTURES, ghost_domain
from tests.model.helpers import MODEL_KINDS

FLAGS = dict(compute_virial=True, compute_atomic_virial=True)


def whole_and_chunked(core, call, chunk_edges):
    core.chunk_edges = 0
    whole = call()
    core.chunk_edges = chunk_edges
    try:
        return whole, call()
    finally:
        core.chunk_edges = 0


def assert_same(got, expected, tol=1e-10):
    for key in keys.OUTPUTS:
        err = max_relative(np.asarray(got[key]), np.asarray(expected[key]))
        assert err < tol, f"{key}: {err:.3g}"


# Unfused files run the operator chains (what GPUs run) inside each chunk.
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("variant", MODEL_KINDS)
@pytest.mark.parametrize("chunk_edges", [1, 37, 200])
def test_chunked_equals_whole_graph_periodic(tmp_path, variant, chunk_edges, fused):
    export_tiny(variant, tmp_path / "m.pt", fused=fused)
    core = load_core(tmp_path / "m.pt").core
    atoms = STRUCTURES["alloy"]()
    types, edge_index, edge_shift = graph(atoms, core.cutoff)
    assert edge_index.shape[1] > chunk_edges  # otherwise the whole graph is used

    def call():
        return core.compute(atoms.positions, types, edge_index, edge_shift, **FLAGS)

    whole, chunked = whole_and_chunked(core, call, chunk_edges)
    assert_same(chunked, whole)


@pytest.mark.parametrize("variant", ["vertex", "triad"])
def test_chunked_with_explicit_ghosts(tmp_path, variant):
    """Ghost atoms with their own edges (LAMMPS' deep ghost shell): every atom is a center."""
    export_tiny(variant, tmp_path / "m.pt")
    model = load_exported(tmp_path / "m.pt")
    core = load_core(tmp_path / "m.pt").core
    atoms = STRUCTURES["thin"]()
    domain = ghost_domain(atoms, model.cutoff)
    # Give the ghosts edges of their own, so rows beyond n_local feed the local energy.
    positions = domain["positions"].numpy()
    n_all = len(positions)
    d = positions[None, :, :] - positions[:, None, :]
    close = (np.linalg.norm(d, axis=-1) < model.cutoff) & ~np.eye(n_all, dtype=bool)
    center, neighbor = np.nonzero(close)
    edge_index = np.stack([center, neighbor]).astype(np.int64)
    shifts = np.zeros((edge_index.shape[1], 3))
    types = domain["types"].numpy()

    def call():
        return core.compute(positions, types, edge_index, shifts, domain["n_local"], **FLAGS)

    whole, chunked = whole_and_chunked(core, call, 50)
    assert_same(chunked, whole)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("variant", MODEL_KINDS)
def test_chunked_with_exchange(tmp_path, variant, fused):
    export_tiny(variant, tmp_path / "m.pt", fused=fused)
    model = load_exported(tmp_path / "m.pt")
    core = load_core(tmp_path / "m.pt").core
    domain = ghost_domain(STRUCTURES["alloy"](), model.cutoff)
    args = [np.asarray(domain[k]) for k in ("positions", "types", "edge_index", "edge_shift")]

    def call():
        return core.compute_exchanged(*args, domain["n_local"], domain["owner"].numpy(), **FLAGS)

    whole, chunked = whole_and_chunked(core, call, 40)
    assert_same(chunked, whole)


def test_chunked_float32_model(tmp_path):
    """float32: chunking reorders float32 sums, so agreement is to float32 rounding."""
    export_tiny("pair", tmp_path / "m.pt", dtype="float32")
    core = load_core(tmp_path / "m.pt").core
    atoms = STRUCTURES["alloy"]()
    types, edge_index, edge_shift = graph(atoms, core.cutoff)

    def call():
        return core.compute(atoms.positions, types, edge_index, edge_shift, **FLAGS)

    whole, chunked = whole_and_chunked(core, call, 64)
    assert_same(chunked, whole, tol=1e-5)


def test_chunk_size_is_checked(tmp_path):
    export_tiny("vertex", tmp_path / "m.pt")
    core = load_core(tmp_path / "m.pt").core
    with pytest.raises(RuntimeError, match="positive number of edges"):
        core.chunk_edges = -5


def test_chunked_with_isolated_atoms(tmp_path):
    """Atoms without edges (a vacuum gap) land in chunks of their own, some without edges."""
    from tests.model.helpers import ethanol

    export_tiny("pair", tmp_path / "m.pt")
    core = load_core(tmp_path / "m.pt").core
    atoms = ethanol()
    far = atoms.copy()
    far.positions += [40.0, 0.0, 0.0]
    atoms += far
    atoms.positions[-1] = [-30.0, 0.0, 0.0]  # one atom alone
    types, edge_index, edge_shift = graph(atoms, core.cutoff)

    def call():
        return core.compute(atoms.positions, types, edge_index, edge_shift, **FLAGS)

    whole, chunked = whole_and_chunked(core, call, 8)
    assert_same(chunked, whole)
