"""The tensor block (`model.block: tensor`): TensorNet's rank-2 features, HermNet's relations.

Each atom carries X_i in R^{3 x 3 x F}, split into I (trace / 3 times the identity), A
(antisymmetric, a vector a) and S (symmetric traceless): Simeon and De Fabritiis, "TensorNet:
Cartesian tensor representations for efficient learning of molecular potentials", NeurIPS
2023, with its O(3) product. HermNet's part: the radial filters belong to the relation of the
edge (vertex, pair, triad; `RelationIndex` as in HermConv) and the channel mixings to the
atom's element. Every layer is one neighbor hop:

  layer 0 (TensorEmbedding): X_i = sum_j z_R(s_j) f_R(r) (I_0, A(u_ij), S(u_ij)), then
      per-atom scalings from the norms, as TensorNet embeds (s_j is the neighbor's element
      embedding, so ghosts need nothing but their type);
  layer k > 0 (TensorInteraction): X^ = X / (|X|^2 + 1); Y = mix(I, A, S of X^);
      M_i = sum_j f_R(r_ij) (f_I I_j + f_A A_j + f_S S_j) over the neighbors' Y;
      dX = mix(normalised parts of Y M + M Y); X' = X^ + dX + dX dX.

f_R(r) = f_c(r) (e(r) W_R + b_R), so every edge term vanishes smoothly at r_c. After each hop
s' = s + act(W_elem LayerNorm[|I|^2, |A|^2, |S|^2]) carries invariants to the readout. X travels
in v as [N, 3, 3F] (v[:, a, bF:(b+1)F] = X[:, a, b, :]) and s as [N, F], so engines exchange
both like the other blocks' rows. The per-atom work runs in the padded [elements, capacity]
layout (every per-element product one bmm); the edges gather and scatter by padded position.
No bias touches A or S, so the layer is O(3) equivariant (A from u_ij is a pseudotensor; the
symmetric product Y M + M Y keeps parity, and the energy reads only norms).
"""

import math

import torch
from torch import nn

from hermnet.nn.activations import make_activation
from hermnet.nn.grouped import GroupedLinear, from_padded, to_padded
from hermnet.nn.hermconv import EdgeGeometry
from hermnet.nn.relations import RelationIndex


def decompose(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[rows, 3, 3, F] -> (i [rows, F], a [rows, 3, F], S [rows, 3, 3, F]); X = i 1 + [a]x + S."""
    i = (x[:, 0, 0] + x[:, 1, 1] + x[:, 2, 2]) / 3.0
    a = 0.5 * torch.stack(
        [x[:, 2, 1] - x[:, 1, 2], x[:, 0, 2] - x[:, 2, 0], x[:, 1, 0] - x[:, 0, 1]], 1
    )
    eye = torch.eye(3, dtype=x.dtype, device=x.device).view(1, 3, 3, 1)
    sym = 0.5 * (x + x.transpose(1, 2))
    return i, a, sym - eye * i.unsqueeze(1).unsqueeze(1)


def compose(i: torch.Tensor, a: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """i 1 + [a]x + S -> [rows, 3, 3, F] ([a]x u = a x u, TensorNet's skew tensor)."""
    a0, a1, a2 = a[:, 0], a[:, 1], a[:, 2]
    zero = torch.zeros_like(a0)
    skew = torch.stack([zero, -a2, a1, a2, zero, -a0, -a1, a0, zero], 1)
    eye = torch.eye(3, dtype=i.dtype, device=i.device).view(1, 3, 3, 1)
    return s + eye * i.unsqueeze(1).unsqueeze(1) + skew.view(s.shape)


def part_norms(i: torch.Tensor, a: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Per-channel |I|^2, |A|^2, |S|^2 (Frobenius) side by side -> [rows, 3F]."""
    return torch.cat([3.0 * i * i, 2.0 * (a * a).sum(1), (s * s).sum((1, 2))], dim=-1)


def matmul3(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Channel-wise 3 x 3 products of [rows, 3, 3, F] tensors."""
    out = x[:, :, 0].unsqueeze(2) * y[:, 0].unsqueeze(1)
    out = out + x[:, :, 1].unsqueeze(2) * y[:, 1].unsqueeze(1)
    return out + x[:, :, 2].unsqueeze(2) * y[:, 2].unsqueeze(1)


class PartMixing(nn.Module):
    """Per-element channel mixing of I, A and S ([F, F] each, no bias: equivariant)."""

    def __init__(self, num_types: int, features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(features)
        self.weight = nn.Parameter(
            torch.empty(3, num_types, features, features).uniform_(-bound, bound)
        )

    def forward(
        self, i: torch.Tensor, a: torch.Tensor, s: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rows in the padded layout: [T * capacity, (3, (3,)) F]."""
        t, f = self.weight.shape[1], self.weight.shape[2]
        cap = i.shape[0] // t
        i = torch.bmm(i.view(t, cap, f), self.weight[0]).view(i.shape)
        a = torch.bmm(a.view(t, cap * 3, f), self.weight[1]).view(a.shape)
        s = torch.bmm(s.view(t, cap * 9, f), self.weight[2]).view(s.shape)
        return i, a, s


class TensorLayer(nn.Module):
    """What both layers share: relation filters, the scalar output, the padded layout."""

    def __init__(
        self,
        num_types: int,
        num_relations: int,
        features: int,
        radial_basis: int,
        activation: str,
        dropout: float,
        coefficient: float,
        per_edge: int,
    ) -> None:
        super().__init__()
        f = features
        self.features = f
        self.num_types = num_types
        self.num_relations = num_relations
        self.coefficient = coefficient
        self.per_edge = per_edge
        self.hops_per_layer = 1
        self.vector_width = 3 * f  # v rows hold X as [3, 3F]
        # f_c (e W + b) per relation -> (f_I, f_A, f_S); the cutoff rides in geo.inst_basis.
        self.filters = GroupedLinear(num_relations, radial_basis, 3 * f)
        self.out_norm = nn.LayerNorm(3 * f)
        self.out = GroupedLinear(num_types, 3 * f, f)
        self.act = make_activation(activation)
        self.drop = nn.Dropout(dropout)

    def instance_filters(self, geo: EdgeGeometry, idx: RelationIndex) -> torch.Tensor:
        """f_c(r) (e(r) W_R + b_R) of every (edge, relation) instance -> [K, 3F]."""
        weight = torch.cat([self.filters.weight, self.filters.bias.unsqueeze(1)], dim=1)
        radial = to_padded(geo.inst_basis, idx.inst_flat, self.num_relations, idx.inst_capacity)
        filt = torch.bmm(radial, weight).view(-1, 3 * self.features)
        return filt.index_select(0, idx.inst_flat)

    def edge_sum(self, x: torch.Tensor, num_edges: int) -> torch.Tensor:
        """Instances -> edges: sum over an edge's relations, times the triad's 1/P."""
        if self.per_edge > 1:
            x = x.view(num_edges, self.per_edge, x.shape[1]).sum(1)
        if self.coefficient != 1.0:
            x = self.coefficient * x
        return x

    def finish(
        self,
        s: torch.Tensor,
        x: torch.Tensor,
        i: torch.Tensor,
        a: torch.Tensor,
        sym: torch.Tensor,
        idx: RelationIndex,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded X and its parts -> (s + act(W LayerNorm(norms)), X as v rows)."""
        t, cap, f = self.num_types, idx.atom_capacity, self.features
        norms = self.out_norm(part_norms(i, a, sym)).view(t, cap, 3 * f)
        ds = self.drop(self.act(self.out(norms))).view(t * cap, f)
        rows = from_padded(torch.cat([ds, x.reshape(t * cap, 9 * f)], dim=-1), idx.atom_flat)
        return s + rows[:, :f], rows[:, f:].reshape(-1, 3, 3 * f)


class TensorEmbedding(TensorLayer):
    """Layer 0: X_i from the edges (TensorNet's embedding) with relation-specific weights."""

    def __init__(self, **args) -> None:
        super().__init__(**args)
        f, t = self.features, self.num_types
        # z_R(s_j): the neighbor's element embedding seen by the edge's relation (which fixes
        # the center element): TensorNet's W [Z_i | Z_j] + b, one map per relation.
        self.pair = GroupedLinear(self.num_relations, f, f)
        self.init_norm = nn.LayerNorm(f)
        self.scalar1 = GroupedLinear(t, f, 2 * f)
        self.scalar2 = GroupedLinear(t, 2 * f, 3 * f)
        self.mixing = PartMixing(t, f)

    def forward(
        self, s: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        f, t, cap = self.features, self.num_types, idx.atom_capacity
        num_edges = geo.center.shape[0]
        slots = to_padded(
            s.index_select(0, idx.slot_atom), idx.slot_flat, self.num_relations, idx.slot_capacity
        )
        z = from_padded(self.pair(slots), idx.slot_flat).index_select(0, idx.inst_slot)
        c = self.instance_filters(geo, idx).view(-1, 3, f) * z.unsqueeze(1)
        c = self.edge_sum(c.view(-1, 3 * f), num_edges).view(num_edges, 3, f)
        u = geo.unit
        eye = torch.eye(3, dtype=u.dtype, device=u.device)
        traceless = u.unsqueeze(2) * u.unsqueeze(1) - eye / 3.0  # S(u_ij) [E, 3, 3]
        dst = idx.atom_flat.index_select(0, geo.center)
        rows = t * cap
        i = c.new_zeros(rows, f).index_add(0, dst, c[:, 0])
        a = c.new_zeros(rows, 3, f).index_add(0, dst, u.unsqueeze(2) * c[:, 1].unsqueeze(1))
        sym = c.new_zeros(rows, 3, 3, f).index_add(
            0, dst, traceless.unsqueeze(3) * c[:, 2].unsqueeze(1).unsqueeze(1)
        )
        # Per-atom scalings of the three parts from the norm of X, per element.
        # |X|^2 = |I|^2 + |A|^2 + |S|^2: the parts are orthogonal.
        norm = part_norms(i, a, sym).view(rows, 3, f).sum(1)
        norm = self.init_norm(norm).view(t, cap, f)
        scale = self.act(self.scalar2(self.drop(self.act(self.scalar1(norm)))))
        f_i, f_a, f_s = torch.split(scale.view(rows, 3 * f), f, dim=-1)
        i, a, sym = self.mixing(i, a, sym)
        i, a, sym = f_i * i, f_a.unsqueeze(1) * a, f_s.unsqueeze(1).unsqueeze(1) * sym
        return self.finish(s, compose(i, a, sym), i, a, sym, idx)

    def hop(
        self, j: int, s: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The layer's only hop (j = 0)."""
        return self.forward(s, v, geo, idx)


class TensorInteraction(TensorLayer):
    """Layer k > 0: one message over the neighbors' mixed parts, TensorNet's O(3) update."""

    def __init__(self, **args) -> None:
        super().__init__(**args)
        self.mix_in = PartMixing(self.num_types, self.features)
        self.mix_out = PartMixing(self.num_types, self.features)

    def forward(
        self, s: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        f, t, cap = self.features, self.num_types, idx.atom_capacity
        num_edges = geo.center.shape[0]
        x = to_padded(v.reshape(-1, 9 * f), idx.atom_flat, t, cap).view(t * cap, 3, 3, f)
        x = x / ((x * x).sum((1, 2)) + 1.0).unsqueeze(1).unsqueeze(1)
        x_i, x_a, x_s = decompose(x)
        y_i, y_a, y_s = self.mix_in(x_i, x_a, x_s)
        # M_i = sum_j f_R(r_ij) (f_I I_j + f_A A_j + f_S S_j), by padded position.
        filt = self.edge_sum(self.instance_filters(geo, idx), num_edges)
        f_i, f_a, f_s = torch.split(filt, f, dim=-1)
        src = idx.atom_flat.index_select(0, geo.neighbor)
        dst = idx.atom_flat.index_select(0, geo.center)
        m_i = torch.zeros_like(y_i).index_add(0, dst, y_i.index_select(0, src) * f_i)
        m_a = torch.zeros_like(y_a).index_add(0, dst, y_a.index_select(0, src) * f_a.unsqueeze(1))
        m_s = torch.zeros_like(y_s).index_add(
            0, dst, y_s.index_select(0, src) * f_s.unsqueeze(1).unsqueeze(1)
        )
        y, m = compose(y_i, y_a, y_s), compose(m_i, m_a, m_s)
        product = matmul3(y, m) + matmul3(m, y)  # O(3): parity-even in Y and M alike
        scale = 1.0 / ((product * product).sum((1, 2)) + 1.0)
        i, a, sym = decompose(product)
        i, a, sym = self.mix_out(
            i * scale, a * scale.unsqueeze(1), sym * scale.unsqueeze(1).unsqueeze(1)
        )
        dx = compose(i, a, sym)
        x = x + dx + matmul3(dx, dx)
        i, a, sym = decompose(x)
        return self.finish(s, x, i, a, sym, idx)

    def hop(
        self, j: int, s: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The layer's only hop (j = 0)."""
        return self.forward(s, v, geo, idx)
