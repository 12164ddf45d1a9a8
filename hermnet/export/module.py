"""The deployed module: HermNet behind the engine-facing contract of hermnet.export.keys.

Engines (LAMMPS, the C++ core, ASE) hand in all atoms they know, local atoms first and
ghost atoms after them, with edges among them. Only local atoms contribute energy; forces
reach every atom (an engine adds ghost forces back onto their owners), and the virial is
taken from the edge vectors, so it is right with periodic shifts and with explicit ghosts.

Besides forward (the whole graph in one call), the module exposes the forward pass hop by
hop (the hop_* methods, keys.HOP_METHODS) for engines that refresh ghost atoms' features
from their owners between hops; hermnet.export.hops is the reference driver.
"""

from typing import Dict, Tuple

import torch
from torch import nn

from hermnet.export import keys
from hermnet.model.hermnet import HermNet
from hermnet.model.potential import (
    derivatives_from_edge_gradient,
    edge_derivatives,
    edge_vectors,
)
from hermnet.nn.hermconv import EdgeGeometry
from hermnet.nn.relations import RelationIndex


class DeployedHermNet(nn.Module):
    def __init__(self, model: HermNet) -> None:
        super().__init__()
        if model.pooled:
            raise ValueError("the pooled readout has no per-atom energies; it cannot be deployed")
        self.model = model

    def forward(
        self,
        positions: torch.Tensor,
        types: torch.Tensor,
        edge_index: torch.Tensor,
        edge_shift: torch.Tensor,
        n_local: int,
        compute_forces: bool = True,
        compute_virial: bool = False,
        compute_atomic_virial: bool = False,
    ) -> Dict[str, torch.Tensor]:
        n_all = positions.shape[0]
        if n_local < 0 or n_local > n_all:
            raise ValueError("n_local must lie in [0, number of atoms]")
        center = edge_index[0]
        need_grad = compute_forces or compute_virial or compute_atomic_virial
        edge_vec = edge_vectors(positions, edge_index, edge_shift, need_grad)
        batch = torch.zeros(n_all, dtype=torch.long, device=positions.device)
        _, atomic = self.model(edge_vec, types, edge_index, batch, 1)
        atomic = atomic[:n_local]
        energy = atomic.sum().reshape(1)
        out: Dict[str, torch.Tensor] = {keys.ENERGY: energy, keys.ATOMIC_ENERGY: atomic}
        if not need_grad:
            return out
        derived = edge_derivatives(
            energy.sum(),
            edge_vec,
            edge_index,
            n_all,
            torch.zeros_like(center),
            1,
            compute_forces,
            compute_virial,
            compute_atomic_virial,
            False,
        )
        for key, value in derived.items():
            out[key] = value[0] if key == keys.VIRIAL else value
        return out

    # Hop-by-hop interface (keys.HOP_INTERFACE_VERSION). Call order per evaluation:
    # hop_prepare, hop_embed, hop(0..num_message_hops-1) with a ghost refresh after each,
    # hop_readout; then the engine back-propagates hop by hop and calls hop_derivatives.

    @torch.jit.export
    def hop_prepare(
        self,
        positions: torch.Tensor,
        types: torch.Tensor,
        edge_index: torch.Tensor,
        edge_shift: torch.Tensor,
    ) -> Tuple[torch.Tensor, EdgeGeometry, RelationIndex]:
        """Edge vectors (a leaf that requires grad) and what every hop shares."""
        return self.hop_prepare_rows(positions, types, edge_index, edge_shift, -1)

    @torch.jit.export
    def hop_prepare_rows(
        self,
        positions: torch.Tensor,
        types: torch.Tensor,
        edge_index: torch.Tensor,
        edge_shift: torch.Tensor,
        n_local: int,
    ) -> Tuple[torch.Tensor, EdgeGeometry, RelationIndex]:
        """hop_prepare for an engine that refreshes every ghost row after each hop: the
        hops then skip the per-atom update of ghost rows (rows n_local on), whose outputs
        the refresh overwrites. Edges must have local centers only (-1: update every row)."""
        edge_vec = edge_vectors(positions, edge_index, edge_shift, True)
        geo, idx = self.model.prepare(edge_vec, types, edge_index, n_local)
        return edge_vec, geo, idx

    @torch.jit.export
    def hop_embed(self, types: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Initial features s [n_all, F] and v [n_all, 3, F]; exact for ghosts too."""
        return self.model.embed(types, self.model.embedding.weight.dtype)

    @torch.jit.export
    def hop(
        self, k: int, s: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Hop k: rows of atoms whose edges are all present (local atoms) come out exact;
        the engine overwrites the other (ghost) rows with their owners' before hop k + 1."""
        return self.model.hop(k, s, v, geo, idx)

    @torch.jit.export
    def hop_readout(self, s: torch.Tensor, types: torch.Tensor, n_local: int) -> torch.Tensor:
        """Energies (n_local,) float64 of the local atoms from the last hop's scalars."""
        return self.model.atomic_energy(s[:n_local], types[:n_local])

    @torch.jit.export
    def hop_derivatives(
        self,
        edge_vec: torch.Tensor,
        edge_grad: torch.Tensor,
        edge_index: torch.Tensor,
        n_all: int,
        compute_forces: bool,
        compute_virial: bool,
        compute_atomic_virial: bool,
    ) -> Dict[str, torch.Tensor]:
        """Forces, virial (3, 3) and per-atom virial from the accumulated dE/d(edge_vec)."""
        derived = derivatives_from_edge_gradient(
            edge_grad,
            edge_vec.detach(),
            edge_index,
            n_all,
            torch.zeros_like(edge_index[0]),
            1,
            compute_forces,
            compute_virial,
            compute_atomic_virial,
        )
        out: Dict[str, torch.Tensor] = {}
        for key, value in derived.items():
            out[key] = value[0] if key == keys.VIRIAL else value
        return out
