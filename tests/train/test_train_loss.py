"""The loss and the error metrics, checked against hand-written formulas."""

import math

import numpy as np
import pytest
import torch

from hermnet import keys
from hermnet.data import Batch
from hermnet.train.loss import LossCounts, LossWeights, MetricAccumulator, compute_loss
from hermnet.train.trainer import _summary


def make_batch(num_atoms=(3, 2), with_stress=(True, False), dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    n, graphs = sum(num_atoms), len(num_atoms)
    stress = torch.randn(graphs, 3, 3, generator=g, dtype=torch.float64).to(dtype)
    mask = torch.tensor(with_stress)
    return Batch(
        positions=torch.zeros(n, 3, dtype=dtype),
        types=torch.zeros(n, dtype=torch.long),
        edge_index=torch.zeros(2, 0, dtype=torch.long),
        edge_shift=torch.zeros(0, 3, dtype=dtype),
        batch=torch.repeat_interleave(torch.arange(graphs), torch.tensor(num_atoms)),
        num_graphs=graphs,
        num_atoms=torch.tensor(num_atoms),
        cell=torch.eye(3, dtype=dtype).repeat(graphs, 1, 1),
        # Large totals: differences of meV must survive, so labels are float64.
        energy=-1.0e5 + torch.randn(graphs, generator=g, dtype=torch.float64),
        forces=torch.randn(n, 3, generator=g, dtype=torch.float64).to(dtype),
        stress=stress * mask.view(-1, 1, 1),
        stress_mask=mask,
    )


def make_prediction(batch, seed=1):
    g = torch.Generator().manual_seed(seed)
    dtype = batch.forces.dtype
    return {
        keys.ENERGY: batch.energy
        + 1e-3 * torch.randn(batch.num_graphs, generator=g, dtype=torch.float64),
        keys.FORCES: batch.forces + torch.randn(batch.forces.shape, generator=g).to(dtype),
        keys.STRESS: batch.stress + torch.randn(batch.stress.shape, generator=g).to(dtype),
    }


def test_loss_matches_formula():
    batch = make_batch()
    pred = make_prediction(batch)
    w = LossWeights(energy=0.3, forces=2.0, stress=5.0)
    de = ((pred[keys.ENERGY] - batch.energy) / batch.num_atoms).numpy()
    df = (pred[keys.FORCES] - batch.forces).double().numpy()
    ds = (pred[keys.STRESS] - batch.stress).double().numpy()[0]  # only the first has stress
    expected = 0.3 * np.mean(de**2) + 2.0 * np.mean(df**2) + 5.0 * np.mean(ds**2)
    loss = compute_loss(pred, batch, w)
    assert loss.dtype == torch.float32
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    # The energy error (1e-3 eV on 1e5 eV totals) is resolved: float64 comparison.
    e_only = compute_loss(pred, batch, LossWeights(1.0, 0.0, 0.0))
    assert float(e_only) == pytest.approx(np.mean(de**2), rel=1e-5)


def huber_by_hand(error: np.ndarray, delta: float) -> np.ndarray:
    small = np.abs(error) <= delta
    return np.where(small, error**2, delta * (2.0 * np.abs(error) - delta))


def test_huber_loss_matches_formula():
    """Squared below delta, linear above; each term in its own unit with the same delta."""
    batch = make_batch(dtype=torch.float64)
    pred = make_prediction(batch)
    delta = 0.5  # the force and stress errors (standard normal) fall on both sides
    w = LossWeights(energy=0.3, forces=2.0, stress=5.0, huber_delta=delta)
    de = ((pred[keys.ENERGY] - batch.energy) / batch.num_atoms).numpy()
    df = (pred[keys.FORCES] - batch.forces).numpy()
    ds = (pred[keys.STRESS] - batch.stress).numpy()[0]
    assert (np.abs(df) > delta).any() and (np.abs(df) <= delta).any()
    expected = (
        0.3 * np.mean(huber_by_hand(de, delta))
        + 2.0 * np.mean(huber_by_hand(df, delta))
        + 5.0 * np.mean(huber_by_hand(ds, delta))
    )
    assert float(compute_loss(pred, batch, w)) == pytest.approx(expected, rel=1e-12)
    # Below delta everywhere it is the squared error: the weights keep their meaning.
    wide = LossWeights(energy=0.3, forces=2.0, stress=5.0, huber_delta=1e3)
    mse = LossWeights(energy=0.3, forces=2.0, stress=5.0)
    assert float(compute_loss(pred, batch, wide)) == pytest.approx(
        float(compute_loss(pred, batch, mse)), rel=1e-12
    )


def test_huber_gradient_is_bounded():
    """A force error of 100 pulls no harder than one just above delta."""
    batch = make_batch(dtype=torch.float64)
    pred = make_prediction(batch)
    forces = pred[keys.FORCES].detach().clone()
    forces[0, 0] = batch.forces[0, 0] + 100.0
    forces.requires_grad_(True)
    pred[keys.FORCES] = forces
    delta = 0.1
    compute_loss(pred, batch, LossWeights(0.0, 1.0, 0.0, huber_delta=delta)).backward()
    assert float(forces.grad.abs().max()) == pytest.approx(2.0 * delta / forces.numel())


def test_loss_without_stress_labels_ignores_stress_weight():
    batch = make_batch(with_stress=(False, False))
    batch.stress = None
    pred = make_prediction(make_batch())
    pred[keys.ENERGY], pred[keys.FORCES] = batch.energy, batch.forces
    assert float(compute_loss(pred, batch, LossWeights(1.0, 1.0, 10.0))) == 0.0


def test_loss_is_differentiable_in_forces():
    batch = make_batch(dtype=torch.float64)
    pred = make_prediction(batch)
    forces = pred[keys.FORCES].clone().requires_grad_(True)
    pred[keys.FORCES] = forces
    compute_loss(pred, batch, LossWeights(0.0, 1.0, 0.0)).backward()
    expected = 2.0 * (forces.detach() - batch.forces) / forces.numel()
    torch.testing.assert_close(forces.grad, expected)


def test_global_counts_make_shares_add_up():
    """Two halves with the whole batch's denominators sum to the whole batch's loss."""
    full = make_batch(
        num_atoms=(3, 2, 4, 1), with_stress=(True, False, True, True), dtype=torch.float64
    )
    pred = make_prediction(full)
    w = LossWeights(1.0, 3.0, 2.0)
    counts = LossCounts.of(full)

    def half(sl, atom_sl):
        b = make_batch(num_atoms=tuple(full.num_atoms[sl].tolist()), dtype=torch.float64)
        b.energy, b.forces = full.energy[sl], full.forces[atom_sl]
        b.stress, b.stress_mask = full.stress[sl], full.stress_mask[sl]
        p = {
            keys.ENERGY: pred[keys.ENERGY][sl],
            keys.FORCES: pred[keys.FORCES][atom_sl],
            keys.STRESS: pred[keys.STRESS][sl],
        }
        return compute_loss(p, b, w, counts)

    total = half(slice(0, 2), slice(0, 5)) + half(slice(2, 4), slice(5, 10))
    torch.testing.assert_close(total, compute_loss(pred, full, w))


def test_metrics_accumulate_mae_and_rmse():
    batches = [make_batch(seed=s) for s in range(3)]
    preds = [make_prediction(b, seed=10 + s) for s, b in enumerate(batches)]
    acc = MetricAccumulator()
    for b, p in zip(batches, preds, strict=True):
        acc.update(p, b, torch.tensor(2.0))
    metrics = acc.compute()
    de = np.concatenate(
        [
            ((p[keys.ENERGY] - b.energy) / b.num_atoms).numpy()
            for b, p in zip(batches, preds, strict=True)
        ]
    )
    df = np.concatenate(
        [
            (p[keys.FORCES] - b.forces).double().numpy().ravel()
            for b, p in zip(batches, preds, strict=True)
        ]
    )
    ds = np.concatenate(
        [
            (p[keys.STRESS] - b.stress).double().numpy()[0].ravel()
            for b, p in zip(batches, preds, strict=True)
        ]
    )
    assert metrics["energy_mae"] == pytest.approx(np.abs(de).mean())
    assert metrics["energy_rmse"] == pytest.approx(np.sqrt((de**2).mean()))
    assert metrics["force_mae"] == pytest.approx(np.abs(df).mean())
    assert metrics["force_rmse"] == pytest.approx(np.sqrt((df**2).mean()))
    assert metrics["stress_mae"] == pytest.approx(np.abs(ds).mean())
    assert metrics["stress_rmse"] == pytest.approx(np.sqrt((ds**2).mean()))
    assert metrics["loss"] == pytest.approx(2.0)
    empty = MetricAccumulator().compute()
    assert all(math.isnan(v) for v in empty.values())


def test_step_statistics_mean_norm_and_clipped_fraction():
    acc = MetricAccumulator()
    for norm in (1.0, 4.0, 12.0, 20.0):
        acc.add_step(norm, max_norm=10.0)
    metrics = acc.compute()
    assert metrics["grad_norm"] == pytest.approx(9.25)
    assert metrics["clipped"] == pytest.approx(0.5)


def test_partial_sums_from_before_the_step_statistics_still_load():
    """A mid-epoch checkpoint written before grad_norm/clipped existed has fewer sums."""
    acc = MetricAccumulator()
    acc.update(make_prediction(make_batch()), make_batch(), torch.tensor(1.0))
    old = {"sums": acc.state_dict()["sums"][:10]}
    restored = MetricAccumulator()
    restored.load_state_dict(old)
    assert restored.compute()["force_mae"] == pytest.approx(acc.compute()["force_mae"])
    assert math.isnan(restored.compute()["grad_norm"])


def test_config_type_weights_scale_each_structures_terms():
    """Weights c_g multiply each structure's squared errors; the means keep plain counts."""
    batch = make_batch(num_atoms=(3, 2), with_stress=(True, True))
    pred = make_prediction(batch)
    w = LossWeights(energy=0.3, forces=2.0, stress=5.0)
    c = np.array([4.0, 0.5])
    de = ((pred[keys.ENERGY] - batch.energy) / batch.num_atoms).numpy()
    df = (pred[keys.FORCES] - batch.forces).double().numpy()
    ds = (pred[keys.STRESS] - batch.stress).double().numpy()
    per_atom = np.repeat(c, [3, 2])[:, None]
    expected = (
        0.3 * np.mean(c * de**2)
        + 2.0 * np.mean(per_atom * df**2)
        + 5.0 * np.mean(c[:, None, None] * ds**2)
    )
    plain = float(compute_loss(pred, batch, w))
    batch.weight = torch.tensor(c)
    assert float(compute_loss(pred, batch, w)) == pytest.approx(expected, rel=1e-6)
    assert float(compute_loss(pred, batch, w)) != pytest.approx(plain, rel=1e-3)
    batch.weight = torch.ones(2, dtype=torch.float64)  # weights of 1 change nothing
    assert float(compute_loss(pred, batch, w)) == pytest.approx(plain, rel=1e-6)


@pytest.mark.parametrize(
    ("clipped", "text"),
    [
        (1.0, "(100 % of steps"),
        (0.134, "(13 % of steps"),
        (0.042, "(4.2 % of steps"),
        (0.0042, "(0.42 % of steps"),
        (0.0, None),
    ],
)
def test_epoch_line_states_the_clipped_share(clipped, text):
    metrics = {"loss": 1.0, "energy_mae": 0.001, "force_mae": 0.01, "force_rmse": 0.02}
    line = _summary(3, 10, 1e-3, {**metrics, "clipped": clipped}, metrics, 1.0)
    if text is None:
        assert "clipped" not in line
    else:
        assert text in line
