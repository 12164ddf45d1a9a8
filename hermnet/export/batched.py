"""An exported model behind the training potential's call, so `hermnet evaluate` (and the
trainer's evaluation loop it reuses) takes exported files as it takes checkpoints.

A batch of structures is one graph without edges between structures, so one call of the
exported model gives every atom's energy, force and virial; summing per structure gives
the structures' energies and virials. Runs through the C++ core (what LAMMPS runs), or
TorchScript when this installation has no core.
"""

from __future__ import annotations

import os

import torch

from hermnet import keys
from hermnet.model.potential import stress_from_virial


class ExportedPotential:
    """Callable like HermNetPotential for evaluation (never for training)."""

    training = False

    def __init__(self, path: str | os.PathLike, device: str = "cpu") -> None:
        try:
            from hermnet.export.core import load_core

            self.model = load_core(path, device)
            self.engine = "C++ core"
        except ImportError:
            from hermnet.export.loader import load_exported

            self.model = load_exported(path, device)
            self.engine = "TorchScript"
        self.metadata: dict = self.model.metadata
        self.elements: list[str] = list(self.model.elements)
        self.cutoff = float(self.model.cutoff)

    def eval(self) -> ExportedPotential:
        return self

    def train(self, mode: bool = True) -> ExportedPotential:
        return self

    def __call__(
        self,
        positions,
        types,
        edge_index,
        edge_shift,
        batch,
        num_graphs: int,
        cell=None,
        compute_forces: bool = True,
        compute_virial: bool = False,
        create_graph: bool = False,
    ) -> dict[str, torch.Tensor]:
        out = self.model.compute(
            positions.detach().double().cpu().numpy(),
            types.cpu().numpy(),
            edge_index.cpu().numpy(),
            edge_shift.detach().double().cpu().numpy(),
            compute_forces=compute_forces,
            compute_virial=compute_virial,
            compute_atomic_virial=compute_virial,
        )
        out = {k: torch.as_tensor(v).detach().cpu().double() for k, v in out.items()}
        owner = batch.cpu()
        energy = torch.zeros(num_graphs, dtype=torch.float64)
        energy.index_add_(0, owner, out[keys.ATOMIC_ENERGY].reshape(-1))
        result = {keys.ENERGY: energy, keys.ATOMIC_ENERGY: out[keys.ATOMIC_ENERGY]}
        if compute_forces:
            result[keys.FORCES] = out[keys.FORCES].reshape(-1, 3)
        if compute_virial:
            virial = torch.zeros(num_graphs, 3, 3, dtype=torch.float64)
            virial.index_add_(0, owner, out[keys.ATOMIC_VIRIAL].reshape(-1, 3, 3))
            result[keys.VIRIAL] = virial
            result[keys.STRESS] = stress_from_virial(virial, cell.detach().double().cpu())
        device = positions.device
        return {k: v.to(device) for k, v in result.items()}
