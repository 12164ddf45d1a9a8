"""The training optimizer: fused where torch has a kernel, the same steps as unfused."""

import pytest
import torch

from hermnet.train.optim import make_optimizer


@pytest.mark.parametrize("name", ["adam", "adamw"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_on_cpu_and_same_steps_as_default(name, dtype):
    torch.manual_seed(0)
    start = [torch.randn(5, 7, dtype=dtype), torch.randn(7, dtype=dtype)]
    fused_params = [torch.nn.Parameter(p.clone()) for p in start]
    plain_params = [torch.nn.Parameter(p.clone()) for p in start]
    fused = make_optimizer(name, fused_params, 1e-2, 0.01)
    assert fused.param_groups[0]["fused"] is True
    kind = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
    assert type(fused) is kind
    plain = kind(plain_params, lr=1e-2, weight_decay=0.01)
    for _ in range(5):
        grads = [torch.randn_like(p) for p in start]
        for params, optimizer in ((fused_params, fused), (plain_params, plain)):
            for p, g in zip(params, grads, strict=True):
                p.grad = g.clone()
            optimizer.step()
    tol = 1e-12 if dtype == torch.float64 else 1e-6  # one rounding order against another
    for a, b in zip(fused_params, plain_params, strict=True):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_no_fused_kernel_falls_back_to_the_default():
    params = [torch.nn.Parameter(torch.zeros(3, device="meta"))]
    optimizer = make_optimizer("adam", params, 1e-3, 0.0)
    assert not optimizer.param_groups[0]["fused"]
