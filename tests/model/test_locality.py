"""Size extensivity (supercells), smoothness at the cutoff, and batching."""

import numpy as np
import pytest
import torch

from hermnet.data.neighbors import build_graph
from hermnet.model import build_model
from tests.model.helpers import (
    ELEMENTS,
    MODEL_KINDS,
    alloy,
    cu_h_cell,
    ethanol,
    evaluate,
    tiny_config,
    tiny_potential,
)


@pytest.mark.parametrize("variant", MODEL_KINDS)
@pytest.mark.parametrize(
    "make",
    [lambda: alloy(1), lambda: cu_h_cell(thin=True), lambda: cu_h_cell(thin=True, triclinic=True)],
    ids=["cubic", "thin", "thin-triclinic"],
)
def test_supercell_energy_per_atom(variant, make):
    potential = tiny_potential(variant)
    atoms = make()
    ref = evaluate(potential, atoms, stress=True)
    big = atoms.repeat((2, 2, 2))
    out = evaluate(potential, big, stress=True)
    e_ref = float(ref["energy"][0]) / len(atoms)
    e_big = float(out["energy"][0]) / len(big)
    assert e_big == pytest.approx(e_ref, rel=1e-10)
    np.testing.assert_allclose(
        out["forces"][: len(atoms)].numpy(), ref["forces"].numpy(), atol=1e-10
    )
    np.testing.assert_allclose(out["stress"].numpy(), ref["stress"].numpy(), atol=1e-10)


def dimer_energy(potential, distance: float) -> float:
    from ase import Atoms

    atoms = Atoms("CuCuH", positions=[[0, 0, 0], [distance, 0, 0], [0.0, 1.6, 0.0]])
    return float(evaluate(potential, atoms)["energy"][0])


@pytest.mark.parametrize("variant", MODEL_KINDS)
def test_default_form_is_continuous_at_cutoff(variant):
    potential = tiny_potential(variant)
    cutoff = potential.model.cutoff
    inside = dimer_energy(potential, cutoff - 1e-7)
    outside = dimer_energy(potential, cutoff + 1e-7)
    assert abs(inside - outside) < 1e-9


def test_faithful_form_jumps_at_cutoff():
    """The published plain-mean update changes the energy discontinuously (not smooth)."""
    potential = tiny_potential("vertex", aggregation="mean")
    cutoff = potential.model.cutoff
    jump = abs(dimer_energy(potential, cutoff - 1e-7) - dimer_energy(potential, cutoff + 1e-7))
    assert jump > 1e-4


@pytest.mark.parametrize("variant", MODEL_KINDS)
@pytest.mark.parametrize("readout", ["atomic", "pooled"])
def test_alone_equals_in_mixed_batch(variant, readout):
    potential = tiny_potential(variant, readout=readout)
    structures = [ethanol(), cu_h_cell(thin=True, triclinic=True), alloy(1)]
    alone = [evaluate(potential, s, stress=True) for s in structures]
    cutoff = potential.model.cutoff
    pos, types, edges, shifts, batch, cells = [], [], [], [], [], []
    offset = 0
    for g, atoms in enumerate(structures):
        ei, sh = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, cutoff)
        pos.append(torch.tensor(atoms.positions))
        types.append(torch.tensor([ELEMENTS.index(s) for s in atoms.get_chemical_symbols()]))
        edges.append(torch.as_tensor(ei) + offset)
        shifts.append(torch.as_tensor(sh))
        batch.append(torch.full((len(atoms),), g))
        cells.append(torch.tensor(atoms.cell.array))
        offset += len(atoms)
    out = potential(
        torch.cat(pos),
        torch.cat(types),
        torch.cat(edges, 1),
        torch.cat(shifts),
        torch.cat(batch),
        len(structures),
        cell=torch.stack(cells),
        compute_virial=True,
    )
    out = {k: v.detach() for k, v in out.items()}
    start = 0
    for g, (atoms, ref) in enumerate(zip(structures, alone, strict=True)):
        stop = start + len(atoms)
        assert float(out["energy"][g]) == pytest.approx(float(ref["energy"][0]), rel=1e-11)
        np.testing.assert_allclose(
            out["forces"][start:stop].detach().numpy(), ref["forces"].numpy(), atol=1e-11
        )
        if atoms.pbc.any():
            np.testing.assert_allclose(
                out["stress"][g].detach().numpy(), ref["stress"][0].numpy(), atol=1e-11
            )
        start = stop


def test_isolated_atom_and_empty_graph():
    potential = tiny_potential("pair")
    from ase import Atoms

    model = potential.model
    out = evaluate(potential, Atoms("Cu", positions=[[0, 0, 0]]))
    with torch.no_grad():
        expected = model.shift[3] + model.scale * model.readout(model.embedding.weight[3]).squeeze()
    assert float(out["energy"][0]) == pytest.approx(float(expected), rel=1e-12)
    assert torch.all(out["forces"] == 0)


def test_float32_close_to_float64():
    """float32 agrees to ~1e-5 relative: single-precision round-off through 2 layers."""
    p64 = tiny_potential("vertex")
    p32 = build_model(tiny_config("vertex", dtype="float32"))
    p32.load_state_dict(p64.state_dict())
    atoms = alloy(1)
    a = evaluate(p64, atoms)
    edge_index, shift = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, 3.5)
    types = torch.tensor([ELEMENTS.index(s) for s in atoms.get_chemical_symbols()])
    b = p32(
        torch.tensor(atoms.positions, dtype=torch.float32),
        types,
        torch.as_tensor(edge_index),
        torch.as_tensor(shift, dtype=torch.float32),
        torch.zeros(len(atoms), dtype=torch.long),
        1,
    )
    assert b["forces"].dtype == torch.float32 and b["energy"].dtype == torch.float64
    b = {k: v.detach() for k, v in b.items()}
    assert float(b["energy"][0]) == pytest.approx(float(a["energy"][0]), rel=1e-5)
    np.testing.assert_allclose(
        b["forces"].detach().numpy(),
        a["forces"].numpy(),
        atol=1e-4 * float(a["forces"].abs().max()),
    )


@pytest.mark.parametrize("variant", MODEL_KINDS)
def test_receptive_field_is_hops_times_cutoff(variant):
    """A chain whose atoms see only their nearest neighbors: atom 0's energy depends on the
    atoms up to `num_hops` links away (hermconv: 2 per layer, painn: 1) and on none beyond,
    as the exported receptive field tells engines."""
    from ase import Atoms

    potential = tiny_potential(variant)
    config = tiny_config(variant)
    hops = config.num_hops
    assert config.receptive_field == pytest.approx(hops * config.cutoff)
    spacing = 0.55 * config.cutoff  # second neighbors (1.1 r_c) are out of reach
    n = hops + 2
    chain = Atoms("Cu" * n, positions=[[i * spacing, 0.1 * (i % 2), 0.0] for i in range(n)])

    def energy_of_atom0(moved: int) -> float:
        atoms = chain.copy()
        atoms.positions[moved] += [0.0, 0.3, 0.2]
        return float(evaluate(potential, atoms)["atomic_energy"][0])

    base = float(evaluate(potential, chain)["atomic_energy"][0])
    assert abs(energy_of_atom0(hops) - base) > 1e-12  # the last atom in reach (weakly)
    assert energy_of_atom0(hops + 1) == base  # one link beyond: not read at all
