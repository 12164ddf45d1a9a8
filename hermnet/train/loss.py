"""Training loss and error metrics.

loss = w_E * mean_g c_g ((E_pred - E_ref) / N_g)^2        per-atom energy error, float64
     + w_F * mean_{atoms, xyz} c_g(atom) (F_pred - F_ref)^2
     + w_S * mean_{structures with stress, 3x3} c_g (S_pred - S_ref)^2

With training.loss = huber, each squared error e^2 above becomes e^2 while |e| <= delta and
delta (2 |e| - delta) beyond (twice torch's Huber loss: equal to the squared error near zero,
so the weights keep their meaning, and linear for the rare large errors). delta is in each
term's own unit: eV/atom, eV/Å, eV/Å^3.

c_g is the structure's weight from data.config_type_weights (1 unless set). The means keep
their plain counts (as MACE's config_type_weights do), so weights shift the balance between
kinds of structure and, when they are large, also the loss's scale (all weights 5 make the
loss 5 times larger; Adam's steps barely change, gradient clipping starts earlier).

The means may be taken over the whole global batch of a data-parallel step: pass
`counts` (structures, atoms, structures with stress, summed over all processes) and
sum the gradients across processes; the result equals one process on the whole batch.
"""

from dataclasses import dataclass

import torch

from hermnet import keys

# Order of the sums kept by MetricAccumulator (one float64 tensor, easy to all-reduce).
_SUMS = (
    "count_e",
    "abs_e",
    "sq_e",
    "count_f",
    "abs_f",
    "sq_f",
    "count_s",
    "abs_s",
    "sq_s",
    "loss",
    "steps",
    "grad_norm",
    "clipped",
)
METRIC_NAMES = (
    "loss",
    "energy_mae",
    "energy_rmse",
    "force_mae",
    "force_rmse",
    "stress_mae",
    "stress_rmse",
)
# Optimizer-step statistics, training only: mean gradient norm before clipping and the
# fraction of steps the clip shortened (a clip that bites on most steps slows training).
STEP_METRIC_NAMES = ("grad_norm", "clipped")


@dataclass(frozen=True)
class LossWeights:
    energy: float = 1.0
    forces: float = 10.0
    stress: float = 0.0
    huber_delta: float = 0.0  # > 0: Huber instead of squared errors (see the module doc)


def _penalty(error: torch.Tensor, huber_delta: float) -> torch.Tensor:
    """Squared error, or its Huber form with the same curvature at zero."""
    if huber_delta <= 0:
        return error.square()
    zero = torch.zeros_like(error)
    return 2.0 * torch.nn.functional.huber_loss(error, zero, reduction="none", delta=huber_delta)


@dataclass(frozen=True)
class LossCounts:
    """Denominators of the three means (global over processes when data-parallel)."""

    graphs: float
    atoms: float
    stress_graphs: float

    @classmethod
    def of(cls, batch) -> "LossCounts":
        return cls(
            graphs=float(batch.num_graphs),
            atoms=float(batch.positions.shape[0]),
            stress_graphs=float(batch.stress_mask.sum()) if batch.stress is not None else 0.0,
        )

    def as_tensor(self, device=None) -> torch.Tensor:
        return torch.tensor(
            [self.graphs, self.atoms, self.stress_graphs], dtype=torch.float64, device=device
        )

    @classmethod
    def from_tensor(cls, t: torch.Tensor) -> "LossCounts":
        graphs, atoms, stress = t.tolist()
        return cls(graphs=graphs, atoms=atoms, stress_graphs=stress)


def needs_stress(weights: LossWeights, batch) -> bool:
    return weights.stress > 0 and batch.stress is not None and bool(batch.stress_mask.any())


def compute_loss(
    prediction: dict[str, torch.Tensor],
    batch,
    weights: LossWeights,
    counts: LossCounts | None = None,
) -> torch.Tensor:
    """The weighted loss of one batch, in the forces' dtype (the model dtype)."""
    counts = counts or LossCounts.of(batch)
    dtype = prediction[keys.ENERGY].dtype
    if keys.FORCES in prediction:
        dtype = prediction[keys.FORCES].dtype
    total = torch.zeros((), dtype=dtype, device=batch.positions.device)
    per_graph = batch.weight  # None when every structure has weight 1
    if weights.energy > 0:
        n = batch.num_atoms.to(torch.float64)
        error = (prediction[keys.ENERGY].double() - batch.energy.double()) / n
        penalty = _penalty(error, weights.huber_delta)
        if per_graph is not None:
            penalty = penalty * per_graph.to(penalty.device)
        total = total + (weights.energy * penalty.sum() / counts.graphs).to(dtype)
    if weights.forces > 0:
        penalty = _penalty(prediction[keys.FORCES] - batch.forces.to(dtype), weights.huber_delta)
        if per_graph is not None:
            penalty = penalty * per_graph.to(penalty)[batch.batch].unsqueeze(-1)
        total = total + weights.forces * penalty.sum() / (3.0 * counts.atoms)
    if weights.stress > 0 and counts.stress_graphs > 0 and needs_stress(weights, batch):
        mask = batch.stress_mask.to(dtype)
        if per_graph is not None:
            mask = mask * per_graph.to(mask)
        penalty = _penalty(prediction[keys.STRESS] - batch.stress.to(dtype), weights.huber_delta)
        total = total + weights.stress * (penalty * mask.view(-1, 1, 1)).sum() / (
            9.0 * counts.stress_graphs
        )
    return total


class MetricAccumulator:
    """Sums of absolute and squared errors over many batches (float64).

    energy: per atom (eV/atom); forces: per Cartesian component (eV/Å); stress: per tensor
    component (eV/Å^3), only structures that have a stress label. `loss` is averaged per
    structure (each batch's loss weighted by its number of structures).
    """

    def __init__(self, device=None) -> None:
        self.sums = torch.zeros(len(_SUMS), dtype=torch.float64, device=device)

    def _add(self, name: str, value) -> None:
        self.sums[_SUMS.index(name)] += value

    @torch.no_grad()
    def update(
        self, prediction: dict[str, torch.Tensor], batch, loss: torch.Tensor | None = None
    ) -> None:
        if keys.ENERGY in prediction and batch.energy is not None:
            n = batch.num_atoms.to(torch.float64)
            e = (prediction[keys.ENERGY].detach().double() - batch.energy.double()) / n
            self._add("count_e", e.numel())
            self._add("abs_e", e.abs().sum())
            self._add("sq_e", e.square().sum())
        if keys.FORCES in prediction and batch.forces is not None:
            f = prediction[keys.FORCES].detach().double() - batch.forces.double()
            self._add("count_f", f.numel())
            self._add("abs_f", f.abs().sum())
            self._add("sq_f", f.square().sum())
        if keys.STRESS in prediction and batch.stress is not None:
            mask = batch.stress_mask
            s = prediction[keys.STRESS].detach().double()[mask] - batch.stress.double()[mask]
            self._add("count_s", s.numel())
            self._add("abs_s", s.abs().sum())
            self._add("sq_s", s.square().sum())
        if loss is not None:
            self._add("loss", loss.detach().double() * batch.num_graphs)

    def add_step(self, grad_norm: float, max_norm: float) -> None:
        """One optimizer step's gradient norm (before clipping) and clip threshold."""
        self._add("steps", 1.0)
        self._add("grad_norm", grad_norm)
        self._add("clipped", float(grad_norm > max_norm))

    def compute(self) -> dict[str, float]:
        """The metrics; NaN for a quantity that was never seen."""
        values = dict(zip(_SUMS, self.sums.tolist(), strict=True))
        out = {"loss": values["loss"] / values["count_e"] if values["count_e"] else float("nan")}
        for short, name in (("e", "energy"), ("f", "force"), ("s", "stress")):
            count = values[f"count_{short}"]
            out[f"{name}_mae"] = values[f"abs_{short}"] / count if count else float("nan")
            out[f"{name}_rmse"] = (values[f"sq_{short}"] / count) ** 0.5 if count else float("nan")
        # Summed over processes the steps count once per process, as do the norms (equal
        # on every process after the gradient all-reduce): the ratios stay right.
        steps = values["steps"]
        for name in STEP_METRIC_NAMES:
            out[name] = values[name] / steps if steps else float("nan")
        return out

    def state_dict(self) -> dict:
        return {"sums": self.sums.cpu().clone()}

    def load_state_dict(self, state: dict) -> None:
        # Checkpoints from before the step statistics hold fewer sums: those start at zero.
        sums = state["sums"]
        self.sums.zero_()
        self.sums[: sums.numel()].copy_(sums)
