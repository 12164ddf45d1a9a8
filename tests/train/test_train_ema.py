"""EMA of weights, the learning-rate schedule and the resumable sampler."""

import math

import pytest
import torch
from torch import nn

from hermnet.train.ema import ExponentialMovingAverage
from hermnet.train.sampler import EpochSampler
from hermnet.train.schedule import LRSchedule


def small_model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)).double()
    return model


def test_ema_warmup_and_update_formula():
    model = small_model()
    ema = ExponentialMovingAverage(model, decay=0.9)
    expected = {n: p.detach().clone() for n, p in model.named_parameters()}
    for step in range(30):
        d = min(0.9, (1 + step) / (10 + step))
        assert ema.current_decay() == pytest.approx(d)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.1 * torch.randn_like(p))
        ema.update(model)
        for n, p in model.named_parameters():
            expected[n] = d * expected[n] + (1 - d) * p.detach()
    assert ema.num_updates == 30
    for n, value in ema.shadow.items():
        torch.testing.assert_close(value, expected[n], rtol=1e-12, atol=1e-12)


def test_ema_swap_restore_and_state_dict():
    model = small_model()
    ema = ExponentialMovingAverage(model, decay=0.99)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    ema.update(model)
    raw = {n: p.detach().clone() for n, p in model.named_parameters()}
    with ema.average_parameters(model):
        for n, p in model.named_parameters():
            torch.testing.assert_close(p.detach(), ema.shadow[n])
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.detach(), raw[n])

    # Full model state with averaged parameters and the model's own buffers.
    state = ema.model_state_dict(model)
    assert set(state) == set(model.state_dict())
    torch.testing.assert_close(state["0.weight"], ema.shadow["0.weight"])
    assert "1.running_mean" in state

    other = ExponentialMovingAverage(small_model(), decay=0.5)
    other.load_state_dict(ema.state_dict())
    assert (other.decay, other.num_updates) == (0.99, 1)
    for n in ema.shadow:
        assert torch.equal(other.shadow[n], ema.shadow[n])
    # A full model state dict works as shadow too (what checkpoints store).
    other.load_state_dict({"decay": 0.99, "num_updates": 1, "shadow": state})
    assert torch.equal(other.shadow["0.weight"], ema.shadow["0.weight"])
    with pytest.raises(ValueError):
        ExponentialMovingAverage(model, decay=1.0)


def test_schedule_warmup_cosine_plateau():
    s = LRSchedule("cosine", 1.0, total_steps=110, warmup_steps=10, lr_min=0.01)
    assert s.lr(0) == pytest.approx(0.1)
    assert s.lr(9) == pytest.approx(1.0)
    assert s.lr(10) == pytest.approx(1.0)
    assert s.lr(60) == pytest.approx(0.505)
    assert s.lr(110) == pytest.approx(0.01)
    assert s.lr(500) == pytest.approx(0.01)
    assert LRSchedule("none", 0.5, 10).lr(7) == 0.5

    p = LRSchedule("plateau", 1.0, total_steps=100, patience=2, factor=0.5, lr_min=0.2)
    for metric in (1.0, 0.9, 0.95, 0.95, 0.95):
        p.epoch_end(metric, step=50)
    assert p.lr(50) == pytest.approx(0.5)
    restored = LRSchedule("plateau", 1.0, total_steps=100, patience=2, factor=0.5, lr_min=0.2)
    restored.load_state_dict(p.state_dict())
    assert restored.lr(51) == p.lr(51)
    for _ in range(20):
        p.epoch_end(2.0, step=60)
    assert p.lr(60) == pytest.approx(0.2)  # floor
    assert not math.isnan(p.lr(0))


def test_sampler_is_a_function_of_seed_and_epoch_and_shards():
    single = EpochSampler(10, seed=3)
    single.set_epoch(2)
    order = single.indices()
    assert sorted(order) == list(range(10))
    single.set_epoch(2, start=4)
    assert single.indices() == order[4:]
    single.set_epoch(3)
    assert single.indices() != order

    shards = [EpochSampler(10, seed=3, rank=r, world_size=3) for r in range(3)]
    for s in shards:
        s.set_epoch(2)
    lists = [s.indices() for s in shards]
    assert {len(x) for x in lists} == {4}  # padded to 12, every process the same length
    # the first b samples of all processes together are the first 3 b of the permutation
    assert sorted(x for lst in lists for x in lst[:2]) == sorted(order[:6])
    unpadded = [EpochSampler(10, shuffle=False, rank=r, world_size=3, pad=False) for r in range(3)]
    assert sorted(i for s in unpadded for i in s.indices()) == list(range(10))
