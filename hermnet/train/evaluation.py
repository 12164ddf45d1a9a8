"""Evaluate a potential on a data loader: metrics, optionally every prediction."""

import numpy as np
import torch

from hermnet import keys
from hermnet.train.loss import LossWeights, MetricAccumulator, compute_loss


def predict(
    potential, batch, *, with_stress: bool, training: bool = False, compute_forces: bool = True
) -> dict:
    """Forward pass with forces (and stress); create_graph only when training."""
    return potential(
        batch.positions,
        batch.types,
        batch.edge_index,
        batch.edge_shift,
        batch.batch,
        batch.num_graphs,
        cell=batch.cell,
        compute_forces=compute_forces,
        compute_virial=with_stress,
        create_graph=training,
    )


def evaluate(
    potential,
    loader,
    device: torch.device,
    weights: LossWeights,
    collect: bool = False,
) -> tuple[MetricAccumulator, dict[str, np.ndarray] | None]:
    """Metric sums (not yet reduced over processes) and, if `collect`, per-item arrays.

    Forces need autograd, so this runs under enable_grad; parameters get no gradient
    (only the edge vectors are differentiated).
    """
    was_training = potential.training
    potential.eval()
    metrics = MetricAccumulator(device=device)
    collected: dict[str, list[np.ndarray]] = {
        "energy_per_atom_pred": [],
        "energy_per_atom_ref": [],
        "forces_pred": [],
        "forces_ref": [],
    }
    try:
        with torch.enable_grad():
            for batch in loader:
                batch = batch.to(device)
                with_stress = batch.stress is not None and bool(batch.stress_mask.any())
                out = predict(potential, batch, with_stress=with_stress)
                out = {k: v.detach() for k, v in out.items()}
                loss = compute_loss(out, batch, weights)
                metrics.update(out, batch, loss)
                if collect:
                    n = batch.num_atoms.to(torch.float64)
                    collected["energy_per_atom_pred"].append(
                        (out[keys.ENERGY].double() / n).cpu().numpy()
                    )
                    collected["energy_per_atom_ref"].append(
                        (batch.energy.double() / n).cpu().numpy()
                    )
                    collected["forces_pred"].append(out[keys.FORCES].double().cpu().numpy())
                    collected["forces_ref"].append(batch.forces.double().cpu().numpy())
    finally:
        potential.train(was_training)
    if not collect:
        return metrics, None
    arrays = {
        key: np.concatenate(values) if values else np.zeros(0) for key, values in collected.items()
    }
    return metrics, arrays
