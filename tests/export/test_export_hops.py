"""The hop-by-hop methods, driven with ghost exchange (hermnet.export.hops), give forward's
results: a periodic cell is cut into local atoms plus explicit ghost images one cutoff deep,
with edges only from local centers, exactly as an MPI domain sees it.

Both paths differ only in summation order, so float64 agrees to 1e-10 of each quantity's
scale (measured: about 1e-15).
"""

import numpy as np
import pytest
import torch

from hermnet.export import keys, load_exported
from hermnet.export.hops import evaluate_by_hops
from tests.export.export_helpers import as_numpy, export_tiny, graph, max_relative
from tests.lammps.lammps_helpers import thin_cell
from tests.model.helpers import MODEL_KINDS, alloy, cu_h_cell

STRUCTURES = {
    "alloy": lambda: alloy(n_repeat=2, seed=5),
    "triclinic": lambda: cu_h_cell(triclinic=True),
    "thin": thin_cell,  # thinner than the cutoff: several images of one atom are ghosts
}


def as_array(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def ghost_domain(atoms, cutoff):
    """Local atoms, then one ghost per (atom, periodic image) that an edge reaches."""
    types, edge_index, edge_shift = graph(atoms, cutoff)
    positions = list(atoms.positions)
    owner = list(range(len(atoms)))
    ghost_of = {}
    neighbors = edge_index[1].copy()
    for e, (j, shift) in enumerate(zip(edge_index[1], edge_shift, strict=True)):
        if not shift.any():
            continue
        key = (int(j), *np.round(shift, 9))
        if key not in ghost_of:
            ghost_of[key] = len(positions)
            positions.append(atoms.positions[j] + shift)
            owner.append(int(j))
        neighbors[e] = ghost_of[key]
    return {
        "positions": torch.tensor(np.array(positions), dtype=torch.float64),
        "types": torch.tensor(types[owner]),
        "edge_index": torch.tensor(np.stack([edge_index[0], neighbors])),
        "edge_shift": torch.zeros(len(neighbors), 3, dtype=torch.float64),
        "n_local": len(atoms),
        "owner": torch.tensor(owner),
    }


@pytest.mark.parametrize("variant", MODEL_KINDS)
@pytest.mark.parametrize("name", list(STRUCTURES))
def test_hops_with_exchange_equal_forward(tmp_path, variant, name):
    export_tiny(variant, tmp_path / "m.pt")
    model = load_exported(tmp_path / "m.pt")
    assert model.metadata[keys.METADATA_HOP_INTERFACE] == keys.HOP_INTERFACE_VERSION
    atoms = STRUCTURES[name]()
    expected = as_numpy(
        model.evaluate(
            atoms.positions,
            atoms.numbers,
            atoms.cell.array,
            atoms.pbc,
            compute_virial=True,
            compute_atomic_virial=True,
        )
    )
    domain = ghost_domain(atoms, model.cutoff)
    n_ghosts = len(domain["owner"]) - len(atoms)
    assert n_ghosts > (len(atoms) if name == "thin" else 0)
    got = evaluate_by_hops(
        model.module,
        model.metadata[keys.METADATA_NUM_HOPS],
        domain["positions"],
        domain["types"],
        domain["edge_index"],
        domain["edge_shift"],
        domain["n_local"],
        domain["owner"],
        compute_virial=True,
        compute_atomic_virial=True,
    )
    # An engine sends forces and per-atom virials on ghosts home to their owners.
    owner = domain["owner"]
    for key in (keys.FORCES, keys.ATOMIC_VIRIAL):
        got[key] = torch.zeros_like(got[key][: len(atoms)]).index_add(0, owner, got[key])
    got = as_numpy(got)
    for key in keys.OUTPUTS:
        err = max_relative(got[key], expected[key])
        assert err < 1e-10, f"{key}: {err:.3g}"


@pytest.mark.parametrize("variant", ["vertex-painn", "triad-painn2"])
def test_hops_leave_ghost_rows_without_the_update(tmp_path, variant):
    """hop_prepare_rows: a painn hop leaves ghost rows as the message made them (a ghost
    is the center of no edge, so its row passes unchanged) and skips their per-atom update,
    which the exchange would overwrite; local rows are those of hop_prepare."""
    export_tiny(variant, tmp_path / "m.pt")
    module = load_exported(tmp_path / "m.pt").module
    domain = ghost_domain(STRUCTURES["alloy"](), 3.5)
    n_local = domain["n_local"]
    args = [domain[k] for k in ("positions", "types", "edge_index", "edge_shift")]
    s, v = getattr(module, keys.HOP_EMBED)(domain["types"])
    v = torch.randn_like(v)  # non-zero vectors, so the update would change every row
    _, geo, idx = getattr(module, keys.HOP_PREPARE_ROWS)(*args, n_local)
    _, geo_all, idx_all = getattr(module, keys.HOP_PREPARE)(*args)
    y_s, y_v = module.hop(0, s, v, geo, idx)
    all_s, all_v = module.hop(0, s, v, geo_all, idx_all)
    assert torch.equal(y_s[n_local:], s[n_local:]) and torch.equal(y_v[n_local:], v[n_local:])
    assert not torch.equal(all_s[n_local:], s[n_local:])
    for got, full in ((y_s, all_s), (y_v, all_v)):
        assert max_relative(as_array(got[:n_local]), as_array(full[:n_local])) < 1e-12


def test_hop_prepare_rows_rejects_a_ghost_center(tmp_path):
    export_tiny("vertex-painn", tmp_path / "m.pt")
    module = load_exported(tmp_path / "m.pt").module
    domain = ghost_domain(STRUCTURES["alloy"](), 3.5)
    args = [domain[k] for k in ("positions", "types", "edge_index", "edge_shift")]
    with pytest.raises(Exception, match="update_rows"):
        getattr(module, keys.HOP_PREPARE_ROWS)(*args, domain["n_local"] - 1)


@pytest.mark.parametrize("ghost_updates", [False, True])
def test_hops_with_and_without_ghost_updates_agree(tmp_path, ghost_updates):
    export_tiny("triad-painn2", tmp_path / "m.pt")
    model = load_exported(tmp_path / "m.pt")
    atoms = STRUCTURES["thin"]()
    domain = ghost_domain(atoms, model.cutoff)
    hops = model.metadata[keys.METADATA_NUM_HOPS]
    args = [domain[k] for k in ("positions", "types", "edge_index", "edge_shift", "n_local")]
    got = evaluate_by_hops(model.module, hops, *args, domain["owner"], ghost_updates=ghost_updates)
    expected = model.evaluate(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
    err = max_relative(as_array(got[keys.ENERGY]), np.asarray(expected[keys.ENERGY]))
    assert err < 1e-10


def test_stale_ghost_rows_would_be_wrong(tmp_path):
    """The exchange matters: without it (ghost rows kept as computed) the energy is off."""
    export_tiny("vertex", tmp_path / "m.pt")
    model = load_exported(tmp_path / "m.pt")
    atoms = STRUCTURES["alloy"]()
    domain = ghost_domain(atoms, model.cutoff)
    hops = model.metadata[keys.METADATA_NUM_HOPS]
    args = [domain[k] for k in ("positions", "types", "edge_index", "edge_shift", "n_local")]
    exchanged = evaluate_by_hops(model.module, hops, *args, domain["owner"])
    stale = evaluate_by_hops(model.module, hops, *args, torch.arange(len(domain["owner"])))
    gap = abs(float(exchanged[keys.ENERGY][0] - stale[keys.ENERGY][0]))
    assert gap > 1e-6


@pytest.mark.parametrize("variant", MODEL_KINDS)
def test_core_exchange_equals_python_driver(tmp_path, variant):
    """Model::compute_exchanged (C++, hermnet::OwnerExchange) against the reference driver."""
    from hermnet.export import load_core

    export_tiny(variant, tmp_path / "m.pt")
    model = load_exported(tmp_path / "m.pt")
    core = load_core(tmp_path / "m.pt").core
    assert core.has_hop_interface
    domain = ghost_domain(STRUCTURES["thin"](), model.cutoff)
    args = [domain[k] for k in ("positions", "types", "edge_index", "edge_shift", "n_local")]
    flags = dict(compute_virial=True, compute_atomic_virial=True)
    expected = as_numpy(
        evaluate_by_hops(
            model.module,
            model.metadata[keys.METADATA_NUM_HOPS],
            *args,
            domain["owner"],
            **flags,
        )
    )
    got = core.compute_exchanged(*[np.asarray(a) for a in args], domain["owner"].numpy(), **flags)
    for key in keys.OUTPUTS:
        err = max_relative(got[key], expected[key])
        assert err < 1e-12, f"{key}: {err:.3g}"


def test_core_exchange_rejects_a_bad_owner_table(tmp_path):
    from hermnet.export import load_core

    export_tiny("vertex", tmp_path / "m.pt")
    core = load_core(tmp_path / "m.pt").core
    domain = ghost_domain(STRUCTURES["thin"](), 3.5)
    args = [np.asarray(domain[k]) for k in ("positions", "types", "edge_index", "edge_shift")]
    owner = domain["owner"].numpy().copy()
    owner[-1] = len(owner) - 1  # a ghost that owns itself
    with pytest.raises(RuntimeError, match="ghosts must name a local row"):
        core.compute_exchanged(*args, domain["n_local"], owner)
