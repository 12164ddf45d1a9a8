"""The painn block with rank-2 neighbor moments (`model.block: painn2`).

painn's scalars see angles only through <Uv, Vv>, a product of two sums of unit vectors:
for two neighbors j, k it contributes u_ij . u_ik = cos(theta), the first Legendre
polynomial of their angle and nothing finer. Every published step from l = 1 to l = 2
(NequIP on aspirin: 12.6 to 8.5 meV/A) adds P2 angular resolution. This block adds it
without storing rank-2 features on atoms: each layer's message hop also sums a symmetric
traceless moment per channel,

    Q_i = sum_j a_q,ij Y2(u_ij)           a_q = (mq h_j) * f_c Wq e(r)     [N, 5, F]

with Y2 the five real l = 2 harmonics, normalised so that Y2(u) . Y2(w) = P2(u . w). The
update mixes channels of Q as painn mixes those of v and reads <Uq, Vq> and |Vq|:

    x = [s', |Vv|, |Vq|] -> us1 -> act -> us2 -> (a_vv, a_sv, a_ss, a_sq)
    s'' = s' + a_sv <Uv, Vv> + a_sq <Uq, Vq> + a_ss,   v'' = v' + a_vv Uv

<Uq, Vq> sums P2(cos theta_jk) over pairs of neighbors. Q lives only inside the hop: the
rows that engines exchange stay [s | v] (4F), and a layer is still one neighbor hop.
"""

import math

import torch
from torch import nn

from hermnet.nn.grouped import GroupedLinear, from_padded, group_layout, to_padded
from hermnet.nn.hermconv import EdgeGeometry
from hermnet.nn.painn import PaiNNConv, add_update
from hermnet.nn.relations import RelationIndex


def l2_harmonics(unit: torch.Tensor) -> torch.Tensor:
    """[E, 3] unit vectors -> [E, 5] real l = 2 harmonics with Y2(u) . Y2(w) = P2(u . w)."""
    x, y, z = unit[:, 0], unit[:, 1], unit[:, 2]
    sqrt3 = 1.7320508075688772
    return torch.stack(
        [
            sqrt3 * x * y,
            sqrt3 * y * z,
            1.5 * z * z - 0.5,
            sqrt3 * x * z,
            0.5 * sqrt3 * (x * x - y * y),
        ],
        dim=-1,
    )


class PaiNN2Conv(PaiNNConv):
    def __init__(self, num_types: int, **hermconv_args) -> None:
        super().__init__(num_types=num_types, **hermconv_args)
        f = self.features
        r = self.num_relations
        # The moment's message and filter belong to the relation, as the l = 1 ones do.
        self.mq = GroupedLinear(r, f, f)
        self.fq = GroupedLinear(r, hermconv_args["radial_basis"], f)
        # The update reads [s', |Vv|, |Vq|] and also weighs <Uq, Vq>.
        self.us1 = GroupedLinear(num_types, 3 * f, f)
        self.us2 = GroupedLinear(num_types, f, 4 * f)
        bound = 1.0 / math.sqrt(f)
        self.mix_q = nn.Parameter(torch.empty(num_types, f, 2 * f).uniform_(-bound, bound))

    def forward(
        self, s: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.drop(self.act(self.ms1(self._slots(s, idx))))
        phi = from_padded(self.ms2(hidden), idx.slot_flat)
        dv, ds = self.radial_message(phi, v, geo, idx)
        phi_q = from_padded(self.mq(hidden), idx.slot_flat)
        q = self.moment_message(phi_q, geo, idx, idx.update_rows)
        return self.moment_update(self._add(s, ds), self._add(v, dv), q, idx)

    def moment_message(
        self, phi_q: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex, n: int
    ) -> torch.Tensor:
        """Q_i = sum over i's edges of a_q Y2(u_ij) -> [n, 5, F] for the first n rows (every
        center lies among them)."""
        return self.moment_message_chain(phi_q, geo, idx, n)

    def moment_filter_weight(self) -> torch.Tensor:
        """[W; b] of fq per relation: [relations, l + 1, F]."""
        return torch.cat([self.fq.weight, self.fq.bias.unsqueeze(1)], dim=1)

    def moment_message_chain(
        self, phi_q: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex, n: int
    ) -> torch.Tensor:
        # (A separate name because TorchScript cannot call super() from the fused class.)
        f = self.features
        radial = to_padded(geo.inst_basis, idx.inst_flat, self.num_relations, idx.inst_capacity)
        filt = torch.bmm(radial, self.moment_filter_weight()).view(-1, f)
        a_q = phi_q.index_select(0, idx.inst_slot) * filt.index_select(0, idx.inst_flat)
        if self.per_edge > 1:
            a_q = a_q.view(geo.center.shape[0], self.per_edge, f).sum(1)
        if self.coefficient != 1.0:
            a_q = self.coefficient * a_q
        # Each center's edges side by side ([N, degree, .] blocks), so the sum of outer
        # products is one batched [5, degree] x [degree, F] product: no [E, 5, F] tensor
        # is written, which in training costs three passes (forward and two backward).
        flat, capacity = group_layout(geo.center, n)
        cap = int(capacity)
        harmonics = to_padded(l2_harmonics(geo.unit), flat, n, cap)
        return torch.bmm(harmonics.transpose(1, 2), to_padded(a_q, flat, n, cap))

    def update_terms(
        self,
        a: torch.Tensor,
        uv: torch.Tensor,
        vv: torch.Tensor,
        uq: torch.Tensor,
        vq: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """ds, dv of the update from us2's coefficients and the mixed v and Q."""
        a_vv, a_sv, a_ss, a_sq = torch.split(a, self.features, dim=-1)
        ds = a_sv * (uv * vv).sum(2) + a_sq * (uq * vq).sum(2) + a_ss
        return ds, a_vv.unsqueeze(2) * uv

    def moment_update(
        self, s1: torch.Tensor, v1: torch.Tensor, q: torch.Tensor, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        m, f, t = idx.update_rows, self.features, self.num_types
        rows = torch.cat([s1[:m], v1[:m].reshape(m, 3 * f), q.reshape(m, 5 * f)], dim=-1)
        block = to_padded(rows, idx.update_flat, t, idx.update_capacity)
        cap = block.shape[1]
        s_b = block[:, :, :f]
        v_b = block[:, :, f : 4 * f].reshape(t, cap * 3, f)
        q_b = block[:, :, 4 * f :].reshape(t, cap * 5, f)
        uv_vv = torch.bmm(v_b, self.mix).view(t, cap, 3, 2 * f)
        uq_vq = torch.bmm(q_b, self.mix_q).view(t, cap, 5, 2 * f)
        uv, vv = uv_vv[..., :f], uv_vv[..., f:]
        uq, vq = uq_vq[..., :f], uq_vq[..., f:]
        vv_norm = torch.sqrt((vv * vv).sum(2) + self.norm_eps)
        vq_norm = torch.sqrt((vq * vq).sum(2) + self.norm_eps)
        x = torch.cat([s_b, vv_norm, vq_norm], dim=-1)
        a = self.us2(self.drop(self.act(self.us1(x))))
        ds, dv = self.update_terms(a, uv, vv, uq, vq)
        delta = torch.cat([ds, dv.reshape(t, cap, 3 * f)], dim=-1)
        return add_update(s1, v1, from_padded(delta, idx.update_flat), f)
