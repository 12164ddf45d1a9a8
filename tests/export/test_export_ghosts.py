"""n_local with explicit ghost atoms (what LAMMPS hands in) equals the periodic result."""

import numpy as np
import torch

from hermnet.export import load_core, load_exported
from tests.export.export_helpers import export_tiny, graph
from tests.model.helpers import ELEMENTS, alloy


def with_ghosts(atoms, thickness):
    """Local atoms first, then every periodic image within `thickness` of the cell."""
    frac = atoms.get_scaled_positions()
    inv_heights = np.linalg.norm(np.linalg.inv(atoms.cell.array).T, axis=1)
    reach = np.ceil(thickness * inv_heights).astype(int)
    positions, owners = [atoms.positions], [np.arange(len(atoms))]
    for a in range(-reach[0], reach[0] + 1):
        for b in range(-reach[1], reach[1] + 1):
            for c in range(-reach[2], reach[2] + 1):
                if a == b == c == 0:
                    continue
                f = frac + [a, b, c]
                margin = thickness * inv_heights
                keep = np.all((f > -margin) & (f < 1 + margin), axis=1)
                positions.append(f[keep] @ atoms.cell.array)
                owners.append(np.nonzero(keep)[0])
    return np.concatenate(positions), np.concatenate(owners)


def test_ghosts_reproduce_periodic_energy_forces_and_virial(tmp_path):
    export_tiny("pair", tmp_path / "m.pt", layers=1)
    atoms = alloy(n_repeat=1, seed=5)
    atoms.wrap()
    types, edge_index, edge_shift = graph(atoms, 3.5)
    flags = dict(compute_virial=True)
    periodic = load_core(tmp_path / "m.pt").compute(
        atoms.positions, types, edge_index, edge_shift, **flags
    )

    # Receptive field 2 * layers * cutoff = 7 Å: ghosts that far out see a complete world.
    positions, owner = with_ghosts(atoms, 7.0 + 0.5)
    all_types = types[owner]
    from hermnet.data.neighbors import build_graph

    ghost_index, ghost_shift = build_graph(positions, np.zeros((3, 3)), [False] * 3, 3.5)
    assert not ghost_shift.any()
    n = len(atoms)
    for model in (load_core(tmp_path / "m.pt"), load_exported(tmp_path / "m.pt")):
        out = model.compute(positions, all_types, ghost_index, ghost_shift, n_local=n, **flags)
        out = {
            k: np.asarray(v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in out.items()
        }
        assert out["atomic_energy"].shape == (n,)
        np.testing.assert_allclose(out["energy"], periodic["energy"], rtol=1e-12)
        folded = np.zeros((n, 3))
        np.add.at(folded, owner, out["forces"])  # LAMMPS' reverse communication
        np.testing.assert_allclose(folded, periodic["forces"], atol=1e-10)
        np.testing.assert_allclose(out["virial"], periodic["virial"], atol=1e-10)
    assert ELEMENTS  # types follow the model's element order
