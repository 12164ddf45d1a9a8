"""painn2 whose rank-2 moments also act on the vectors (`model.block: painn2v`).

In painn2 the moment Q_i reaches the scalars only, through <Uq, Vq> and |Vq|, and is
dropped after the layer. Here each channel's Q is also read as a symmetric traceless 3 x 3
matrix M (M(Y2(w)) = w w^T - I/3) that acts on the mixed vectors:

    dv = a_vv Uv + a_qv (M Uv),      ds = painn2's ds + a_vqv <Vv, M Uv>

M Uv is the l = 1 part of Q (x) v, so angular detail of order 2 enters the vectors and
travels to the next layer; <Vv, M Uv> multiplies three sums over neighbors (two vectors
and a moment), body order 4 in one layer, as MACE's products of aggregated features. Both
cost 9 multiply-adds per channel and atom; the exchanged rows stay [s | v].
"""

import torch

from hermnet.nn.grouped import GroupedLinear
from hermnet.nn.painn2 import PaiNN2Conv


def l2_apply(q: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """M(q) u per channel: q [..., 5, F] (l2_harmonics' basis), u [..., 3, F] -> [..., 3, F],
    with M(l2_harmonics(w)) = w w^T - I / 3."""
    inv_sqrt3 = 0.5773502691896258
    q0, q1, q2, q3, q4 = q.unbind(-2)
    ux, uy, uz = u.unbind(-2)
    xy, yz, xz = inv_sqrt3 * q0, inv_sqrt3 * q1, inv_sqrt3 * q3
    zz = (2.0 / 3.0) * q2
    diff = inv_sqrt3 * q4  # (xx - yy) / 2
    xx, yy = diff - 0.5 * zz, -diff - 0.5 * zz
    return torch.stack(
        [xx * ux + xy * uy + xz * uz, xy * ux + yy * uy + yz * uz, xz * ux + yz * uy + zz * uz],
        dim=-2,
    )


class PaiNN2VConv(PaiNN2Conv):
    def __init__(self, num_types: int, **hermconv_args) -> None:
        super().__init__(num_types=num_types, **hermconv_args)
        f = self.features
        # Two more update coefficients: a_qv (moment on vectors) and a_vqv (<Vv, M Uv>).
        self.us2 = GroupedLinear(num_types, f, 6 * f)

    def update_terms(
        self,
        a: torch.Tensor,
        uv: torch.Tensor,
        vv: torch.Tensor,
        uq: torch.Tensor,
        vq: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        a_vv, a_sv, a_ss, a_sq, a_qv, a_vqv = torch.split(a, self.features, dim=-1)
        m_uv = l2_apply(uq, uv)
        ds = a_sv * (uv * vv).sum(2) + a_sq * (uq * vq).sum(2) + a_vqv * (vv * m_uv).sum(2)
        dv = a_vv.unsqueeze(2) * uv + a_qv.unsqueeze(2) * m_uv
        return ds + a_ss, dv
