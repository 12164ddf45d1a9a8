"""The rank-2 neighbor moments of the painn2 and painn2v blocks (hermnet.nn.painn2, painn2v)."""

import torch

from hermnet.nn.painn2 import l2_harmonics
from hermnet.nn.painn2v import l2_apply
from tests.model.helpers import ethanol, evaluate, tiny_potential


def random_units(count: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(count, 3, generator=g, dtype=torch.float64)
    return u / u.norm(dim=1, keepdim=True)


def test_harmonics_obey_the_addition_theorem():
    # Y2(u) . Y2(w) = P2(u . w) for every pair: this is what makes <Uq, Vq> a sum of
    # P2(cos theta_jk) over neighbor pairs, and it fails for any wrong normalisation.
    u, w = random_units(200, 0), random_units(200, 1)
    cos = (u * w).sum(1)
    p2 = 1.5 * cos * cos - 0.5
    torch.testing.assert_close((l2_harmonics(u) * l2_harmonics(w)).sum(1), p2, rtol=0, atol=1e-14)


def test_harmonics_are_traceless():
    # The average of Y2 over the three axes is zero: no isotropic (l = 0) part is left.
    axes = torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(l2_harmonics(axes).sum(0), torch.zeros(5, dtype=torch.float64))


def test_moments_change_the_energy():
    # With the moment weights zeroed, painn2 is painn with a wider update: the energy must
    # move when they are switched back on, or the moments do not reach the scalars.
    potential = tiny_potential("vertex-painn2")
    energy = evaluate(potential, ethanol())["energy"]
    with torch.no_grad():
        for layer in potential.model.layers:
            layer.mix_q.zero_()
    assert abs(evaluate(potential, ethanol())["energy"] - energy) > 1e-6


def test_moment_as_a_matrix_is_w_w_minus_a_third():
    # painn2v reads each channel's moment as M(Y2(w)) = w w^T - I/3 acting on vectors; a
    # wrong basis matrix would break rotation equivariance of M u.
    w, u = random_units(50, 2), torch.randn(50, 3, dtype=torch.float64)
    expected = w * (w * u).sum(1, keepdim=True) - u / 3
    got = l2_apply(l2_harmonics(w).unsqueeze(-1), u.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-14)


def test_moments_acting_on_vectors_change_the_energy():
    # The two painn2v terms (a_qv M Uv into the vectors, a_vqv <Vv, M Uv> into the scalars)
    # reach the energy: zeroing their rows of us2 moves it.
    potential = tiny_potential("vertex-painn2v")
    energy = evaluate(potential, ethanol())["energy"]
    f = potential.model.layers[0].features
    with torch.no_grad():
        for layer in potential.model.layers:
            layer.us2.weight[..., 4 * f :] = 0.0
            layer.us2.bias[..., 4 * f :] = 0.0
    assert abs(evaluate(potential, ethanol())["energy"] - energy) > 1e-6
