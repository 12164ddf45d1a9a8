"""The deployed module: HermNet behind the engine-facing contract of hermnet.export.keys.

Engines (LAMMPS, the C++ core, ASE) hand in all atoms they know, local atoms first and
ghost atoms after them, with edges among them. Only local atoms contribute energy; forces
reach every atom (an engine adds ghost forces back onto their owners), and the virial is
taken from the edge vectors, so it is right with periodic shifts and with explicit ghosts.
"""

from typing import Dict

import torch
from torch import nn

from hermnet.export import keys
from hermnet.model.hermnet import HermNet
from hermnet.model.potential import edge_derivatives, edge_vectors


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
