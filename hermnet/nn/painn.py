"""The mixing block (`model.block: painn`): HermNet's relation messages, PaiNN's update.

The published HermConv update aggregates a second time over the neighbors and reads the
vectors only through per-channel norms and <U^, U^>, which is nearly constant, so its
scalars barely see angles. This block keeps HermConv's message hop unchanged (relation-
specific phi_j and radial filters, the same fused CPU operators) and replaces the update
hop by PaiNN's per-atom update, with weights of the atom's element:

    (Uv, Vv) = v' [U | V]                 channel mixing, [3, F] @ [F, 2F] (no bias: equivariant)
    (a_vv, a_sv, a_ss) = us2(act(us1([s', |Vv|])))
    v'' = v' + a_vv * Uv,   s'' = s' + a_sv * <Uv, Vv> + a_ss

<Uv, Vv> multiplies two sums over neighbors, so every layer couples pairs of neighbors
(angles, body order 3) at the cost of one [atoms, 3F] x [F, 2F] product. The update reads
only the atom's own row, so a layer is one neighbor hop: the receptive field is L r_c, not
2 L r_c, and engines exchange ghost rows once per layer.
"""

import math

import torch
from torch import nn

from hermnet.nn.grouped import GroupedLinear, from_padded, to_padded
from hermnet.nn.hermconv import EdgeGeometry, HermConv
from hermnet.nn.relations import RelationIndex


def add_update(
    s1: torch.Tensor, v1: torch.Tensor, delta: torch.Tensor, f: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """s1 + delta[:, :F], v1 + delta[:, F:] for the leading delta.shape[0] rows (the rows
    that get an update, RelationIndex.update_rows); the ghost rows after them pass as the
    message left them, since an engine overwrites them after the hop."""
    n, m = s1.shape[0], delta.shape[0]
    if m < n:
        delta = torch.cat([delta, delta.new_zeros(n - m, delta.shape[1])])
    return s1 + delta[:, :f], v1 + delta[:, f:].view(n, 3, f)


class PaiNNConv(HermConv):
    def __init__(self, num_types: int, **hermconv_args) -> None:
        super().__init__(**hermconv_args)
        self.hops_per_layer = 1
        f = self.features
        self.num_types = num_types
        # The update's weights belong to the atom's element (the vertex relation) in every
        # variant: it reads no neighbor, so there is no neighbor element to key on.
        self.us1 = GroupedLinear(num_types, 2 * f, f)
        self.us2 = GroupedLinear(num_types, f, 3 * f)
        # U and V side by side, as nn.Linear(F, F) would initialise each.
        bound = 1.0 / math.sqrt(f)
        self.mix = nn.Parameter(torch.empty(num_types, f, 2 * f).uniform_(-bound, bound))

    def forward(
        self, s: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        s1, v1 = self.message(s, v, geo, idx)
        return self.mix_update(s1, v1, idx)

    def hop(
        self, j: int, s: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The layer's only hop (j = 0): the message and the atom's own update."""
        return self.forward(s, v, geo, idx)

    def mix_update(
        self, s1: torch.Tensor, v1: torch.Tensor, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        m, f, t = idx.update_rows, self.features, self.num_types
        # One padded [types, capacity, 4F] block of [s' | v'] rows: every per-element
        # product below is one batched matmul, and one index_select brings the rows back.
        rows = torch.cat([s1[:m], v1[:m].reshape(m, 3 * f)], dim=-1)
        block = to_padded(rows, idx.update_flat, t, idx.update_capacity)
        cap = block.shape[1]
        s_b = block[:, :, :f]
        v_b = block[:, :, f:].reshape(t, cap * 3, f)
        uv_vv = torch.bmm(v_b, self.mix).view(t, cap, 3, 2 * f)
        uv, vv = uv_vv[..., :f], uv_vv[..., f:]
        vv_norm = torch.sqrt((vv * vv).sum(2) + self.norm_eps)
        x = torch.cat([s_b, vv_norm], dim=-1)
        a = self.us2(self.drop(self.act(self.us1(x))))
        a_vv, a_sv, a_ss = torch.split(a, f, dim=-1)
        ds = a_sv * (uv * vv).sum(2) + a_ss
        dv = a_vv.unsqueeze(2) * uv
        delta = torch.cat([ds, dv.reshape(t, cap, 3 * f)], dim=-1)
        return add_update(s1, v1, from_padded(delta, idx.update_flat), f)
