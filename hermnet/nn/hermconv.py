"""One HermNet interaction layer (a "HermConv"): message hop, then update hop.

Follows docs/model.md. The message phase of every relation finishes before the update
phase starts, so the update of atom i sees its neighbors' features after their complete
message step (s', v'), whichever relations delivered them.
"""

from typing import NamedTuple

import torch
from torch import nn

from hermnet.nn.activations import make_activation
from hermnet.nn.grouped import GroupedLinear, from_padded, to_padded
from hermnet.nn.relations import RelationIndex


class EdgeGeometry(NamedTuple):
    """Per-edge quantities computed once per forward pass and shared by every layer."""

    center: torch.Tensor  # (E,) i
    neighbor: torch.Tensor  # (E,) j
    unit: torch.Tensor  # (E, 3) u_ij
    inst_basis: torch.Tensor  # (K, l + 1) [f_c(r) e_n(r), f_c(r)] of each instance's edge
    agg_weight: torch.Tensor  # (K, 1) update-aggregation weight of each instance
    agg_numerator: torch.Tensor  # (E, 1, 1) f_c(r) (smooth) or 1 (plain mean)
    agg_denominator: torch.Tensor  # (N * cs_per_atom, 1, 1) normaliser per center slot


class HermConv(nn.Module):
    def __init__(
        self,
        num_relations: int,
        features: int,
        radial_basis: int,
        activation: str,
        dropout: float,
        coefficient: float,
        per_edge: int,
        cs_per_atom: int,
        groups_per_atom: int,
        norm_eps: float,
        two_groups: bool,
        zero_vectors_in: bool,
    ) -> None:
        super().__init__()
        f = features
        self.features = f
        self.num_relations = num_relations
        self.coefficient = coefficient
        self.per_edge = per_edge
        self.cs_per_atom = cs_per_atom
        self.groups_per_atom = groups_per_atom
        self.norm_eps = norm_eps
        self.two_groups = two_groups
        # The first layer receives the embedding's v = 0: its messages skip v_j * a_v.
        self.zero_vectors_in = zero_vectors_in
        self.ms1 = GroupedLinear(num_relations, f, f)
        self.ms2 = GroupedLinear(num_relations, f, 3 * f)
        self.mv = GroupedLinear(num_relations, radial_basis, 3 * f)
        self.us1 = GroupedLinear(num_relations, 2 * f, f)
        self.us2 = GroupedLinear(num_relations, f, 3 * f)
        self.act = make_activation(activation)
        self.drop = nn.Dropout(dropout)
        # Neighbor hops per layer: message, then update (engines refresh ghosts after each).
        self.hops_per_layer = 2

    def _slots(self, x: torch.Tensor, idx: RelationIndex) -> torch.Tensor:
        """Per-atom rows -> padded [relations, capacity, features] block of their slots."""
        rows = x.index_select(0, idx.slot_atom)
        return to_padded(rows, idx.slot_flat, self.num_relations, idx.slot_capacity)

    def _norm(self, v: torch.Tensor) -> torch.Tensor:
        """Per-channel norm of [rows, 3, F] vectors -> [rows, F]."""
        # sqrt(|v|^2 + eps) keeps first and second derivatives finite at v = 0.
        return torch.sqrt((v * v).sum(1) + self.norm_eps)

    def forward(
        self, s: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """s: [N, F] scalars, v: [N, 3, F] vectors (stored so broadcasts run along F)."""
        s1, v1 = self.message(s, v, geo, idx)
        return self.update(s1, v1, geo, idx)

    def hop(
        self, j: int, s: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Hop j of this layer: 0 the message, 1 the update."""
        if j == 0:
            return self.message(s, v, geo, idx)
        return self.update(s, v, geo, idx)

    def message(
        self, s: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Message hop: (s, v) -> (s', v'). Row i reads only i's edges and their neighbors'
        rows, so an engine may refresh ghost rows between this hop and `update`."""
        # phi_j for every slot, then the filters f_c W(e(r)) and the edge sums.
        phi = self.ms2(self.drop(self.act(self.ms1(self._slots(s, idx)))))
        phi = from_padded(phi, idx.slot_flat)
        dv, ds = self.radial_message(phi, v, geo, idx)
        return self._add(s, ds), self._add(v, dv)

    def _add(self, x: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
        # Only triad has a coefficient (1 / P); a product with 1.0 would still cost an
        # operator and its two backward passes in training.
        if self.coefficient != 1.0:
            dx = self.coefficient * dx
        return x + dx

    # The radial filter and the edge aggregations below are the model's memory-bound core;
    # FusedHermConv (hermnet.nn.fused) replaces them with single-pass C++ operators in
    # exported models.

    def filter_weight(self) -> torch.Tensor:
        """[W; b] of mv per relation: [relations, l + 1, 3F]."""
        return torch.cat([self.mv.weight, self.mv.bias.unsqueeze(1)], dim=1)

    def radial_message(
        self, phi: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Filters f_c W(r) of every instance, then the edge sums -> (dv, ds)."""
        return self.radial_message_chain(phi, v, geo, idx)

    def radial_message_chain(
        self, phi: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # f_c (e W + b) = [f_c e, f_c] [W; b]: the cutoff rides in the basis, saving a
        # full pass over the (instances, 3F) filter. Rows of the padded
        # [relations * capacity, 3F] block; instance k at idx.inst_flat[k].
        radial = to_padded(geo.inst_basis, idx.inst_flat, self.num_relations, idx.inst_capacity)
        filt = torch.bmm(radial, self.filter_weight()).view(-1, 3 * self.features)
        return self.edge_message(phi, filt, v, geo, idx)

    def edge_message(
        self,
        phi: torch.Tensor,
        filt: torch.Tensor,
        v: torch.Tensor,
        geo: EdgeGeometry,
        idx: RelationIndex,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sums over i's edges of the messages phi_j * f_c W(r_ij) -> (dv [N, 3, F], ds [N, F])."""
        return self.edge_message_chain(phi, filt, v, geo, idx)

    def edge_message_chain(
        self,
        phi: torch.Tensor,
        filt: torch.Tensor,
        v: torch.Tensor,
        geo: EdgeGeometry,
        idx: RelationIndex,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # (A separate name because TorchScript cannot call super() from FusedHermConv.)
        f = self.features
        msg = phi.index_select(0, idx.inst_slot) * filt.index_select(0, idx.inst_flat)
        if self.per_edge > 1:
            msg = msg.view(geo.center.shape[0], self.per_edge, 3 * f).sum(1)
        a_v, a_s, a_r = torch.split(msg, f, dim=-1)
        ds = v.new_zeros(v.shape[0], f).index_add(0, geo.center, a_s)
        return self.vector_message(v, a_v, a_r, geo), ds

    def vector_message(
        self, v: torch.Tensor, a_v: torch.Tensor, a_r: torch.Tensor, geo: EdgeGeometry
    ) -> torch.Tensor:
        """sum over i's edges of v_j * a_v + u_ij (x) a_r -> [N, 3, F]."""
        dv = a_r.unsqueeze(1) * geo.unit.unsqueeze(-1)
        if not self.zero_vectors_in:
            dv = v.index_select(0, geo.neighbor) * a_v.unsqueeze(1) + dv
        return torch.zeros_like(v).index_add(0, geo.center, dv)

    def gather_scale_add(
        self, x: torch.Tensor, w: torch.Tensor, src: torch.Tensor, dst: torch.Tensor, rows: int
    ) -> torch.Tensor:
        """out[dst[e]] += x[src[e]] * w[e] -> [rows, D]; x: [*, D], w: [E]."""
        return x.new_zeros(rows, x.shape[1]).index_add(
            0, dst, x.index_select(0, src) * w.unsqueeze(1)
        )

    def update(
        self, s1: torch.Tensor, v1: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Update hop: weighted means of t_j and v_j' over each center slot's edges."""
        n, f = s1.shape[0], self.features
        x = self._slots(torch.cat([self._norm(v1), s1], dim=-1), idx)
        t = from_padded(self.us2(self.drop(self.act(self.us1(x)))), idx.slot_flat)
        t_agg = self.gather_scale_add(
            t, geo.agg_weight.view(-1), idx.inst_slot, idx.inst_cs, n * self.cs_per_atom
        )
        # One spare zero row: the second neighbor group of a center slot that has none.
        v_sum = self.gather_scale_add(
            v1.reshape(n, 3 * f),
            geo.agg_numerator.view(-1),
            geo.neighbor,
            idx.edge_q,
            n * self.groups_per_atom + 1,
        ).view(-1, 3, f)
        u0 = v_sum.index_select(0, idx.cs_u0) / geo.agg_denominator
        a_vv, a_sv, a_ss = torch.split(t_agg, f, dim=-1)
        if self.two_groups:
            u1 = v_sum.index_select(0, idx.cs_u1) / geo.agg_denominator
            u0_hat = u0 / self._norm(u0).unsqueeze(1)
            u1_hat = torch.where(
                idx.cs_pair.unsqueeze(-1), u1 / self._norm(u1).unsqueeze(1), u0_hat
            )
            ds = a_sv * (u0_hat * u1_hat).sum(1) + a_ss
            dvu = (u0 + u1) * a_vv.unsqueeze(1)
        else:
            # One neighbor group (vertex, pair): U1 = 0 and <U^, U^> = |U|^2 / (|U|^2 + eps)
            # with the eps of _norm, the same values in fewer operators, each of which
            # training pays for three times (forward and both backward passes).
            squared = (u0 * u0).sum(1)
            ds = a_sv * (squared / (squared + self.norm_eps)) + a_ss
            dvu = u0 * a_vv.unsqueeze(1)
        if self.cs_per_atom > 1:
            ds = ds.view(n, self.cs_per_atom, f).sum(1)
            dvu = dvu.view(n, self.cs_per_atom, 3, f).sum(1)
        return self._add(s1, ds), self._add(v1, dvu)
