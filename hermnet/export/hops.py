"""Reference driver of the hop-by-hop interface: what an engine with ghost exchange does.

An engine that splits a system over domains knows, on each domain, its local atoms and the
ghost atoms within one cutoff of them, with edges only from local centers. After every hop
the rows of local atoms are exact and ghost rows are stale, so it refreshes each ghost row
from the ghost's owner (forward communication). Backward, the gradient that reached a
ghost row belongs to its owner: it is sent home and added there (reverse communication)
before the previous hop is differentiated. The C++ core (Model::compute_exchanged) runs the
same algorithm with the engine's communication; this module runs it with an in-memory owner
table, so tests can check the exported methods without an engine.
"""

from __future__ import annotations

from typing import Dict

import torch

from hermnet.export import keys


def evaluate_by_hops(
    module: torch.jit.ScriptModule,
    num_hops: int,
    positions: torch.Tensor,
    types: torch.Tensor,
    edge_index: torch.Tensor,
    edge_shift: torch.Tensor,
    n_local: int,
    owner: torch.Tensor,
    compute_virial: bool = False,
    compute_atomic_virial: bool = False,
    ghost_updates: bool = False,
) -> Dict[str, torch.Tensor]:
    """One domain whose ghost i (index >= n_local) is a copy of local atom owner[i].

    owner: (n_all,) int64, owner[i] = i for local atoms. Returns the outputs of forward
    (energy, atomic_energy, forces on all n_all rows, virial, atomic_virial).
    ghost_updates: compute the per-atom update on ghost rows too (hop_prepare), as files
    without hop_prepare_rows do; the exchange overwrites those rows either way.
    """
    with torch.enable_grad():
        if ghost_updates or not module._c._has_method(keys.HOP_PREPARE_ROWS):
            prepared = getattr(module, keys.HOP_PREPARE)(positions, types, edge_index, edge_shift)
        else:
            prepared = getattr(module, keys.HOP_PREPARE_ROWS)(
                positions, types, edge_index, edge_shift, n_local
            )
        edge_vec, geo, idx = prepared
        s, v = getattr(module, keys.HOP_EMBED)(types)
        inputs, outputs = [], []
        for k in range(num_hops):
            y_s, y_v = module.hop(k, s, v, geo, idx)
            outputs.append((y_s, y_v))
            # Forward exchange: the ghosts' rows come from their owners (new leaves, as an
            # engine's communication buffer would be).
            s = y_s.detach()[owner].requires_grad_(True)
            v = y_v.detach()[owner].requires_grad_(True)
            inputs.append((s, v))
        atomic = getattr(module, keys.HOP_READOUT)(s, types, n_local)
        energy = atomic.sum()

        edge_grad = torch.zeros_like(edge_vec)
        g_s, g_v = torch.autograd.grad([energy], [s], allow_unused=True)[0], None
        for k in reversed(range(num_hops)):
            g_s = torch.zeros_like(s) if g_s is None else g_s
            g_v = torch.zeros_like(v) if g_v is None else g_v
            # Reverse exchange: ghost rows' gradients go home; ghost rows of y were discarded.
            home_s = torch.zeros_like(g_s).index_add(0, owner, g_s)
            home_v = torch.zeros_like(g_v).index_add(0, owner, g_v)
            wrt = [edge_vec] + (list(inputs[k - 1]) if k > 0 else [])
            grads = torch.autograd.grad(
                list(outputs[k]),
                wrt,
                [home_s, home_v],
                retain_graph=True,
                allow_unused=True,
            )
            if grads[0] is not None:
                edge_grad = edge_grad + grads[0]
            g_s, g_v = (grads[1], grads[2]) if k > 0 else (None, None)
        out = getattr(module, keys.HOP_DERIVATIVES)(
            edge_vec,
            edge_grad,
            edge_index,
            positions.shape[0],
            True,
            compute_virial,
            compute_atomic_virial,
        )
    out[keys.ENERGY] = energy.detach().reshape(1)
    out[keys.ATOMIC_ENERGY] = atomic.detach()
    return out
