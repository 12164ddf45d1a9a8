"""Which relation owns which edge: the heterogeneous part of HermNet, as index tables.

A relation is the center element A (vertex), the ordered pair (A, B) (pair) or A with an
unordered neighbor pair {B, C} (triad). Everything here is integer bookkeeping computed
once per forward pass from the atom types and the edge list; the layers then gather and
scatter with these indices, so no Python loop over relations or elements is needed.

Vocabulary (T element types, P = T (T + 1) / 2):
- instance: an (edge, relation) membership. Vertex and pair: one per edge. Triad: an edge
  (i <- j, type B) belongs to the T relations (A, {B, C}), C = 0..T-1, so E * T instances.
- slot: an (atom j, relation) pair whose per-atom MLP output is needed when j is a
  neighbor. Per atom: T slots (vertex, pair: one per center type A) or T^2 (triad: A, C).
- center slot: an (atom i, relation of i's element) pair that aggregates the update.
  Per atom: 1 (vertex), T (pair: one per neighbor type B), P (triad: one per {B, C}).
"""

from typing import NamedTuple

import torch
from torch import nn

from hermnet.nn.grouped import group_layout

VARIANTS = ("vertex", "pair", "triad")


def num_relations(variant: str, num_types: int) -> int:
    t = num_types
    return {"vertex": t, "pair": t * t, "triad": t * t * (t + 1) // 2}[variant]


def relation_names(variant: str, elements: list[str]) -> list[str]:
    """Human-readable relation names in weight-stack order (for reports and tests)."""
    t = len(elements)
    if variant == "vertex":
        return list(elements)
    if variant == "pair":
        return [f"{elements[a]}<-{elements[b]}" for a in range(t) for b in range(t)]
    pairs = [(b, c) for b in range(t) for c in range(b, t)]
    return [f"{elements[a]}<-{{{elements[b]},{elements[c]}}}" for a in range(t) for b, c in pairs]


class RelationIndex(NamedTuple):
    """Per-forward index tensors shared by every HermConv layer."""

    inst_edge: torch.Tensor  # (K,) edge of each instance
    inst_slot: torch.Tensor  # (K,) slot whose MLP output the instance reads
    inst_cs: torch.Tensor  # (K,) center slot the instance aggregates into
    inst_flat: torch.Tensor  # (K,) padded position, grouped by relation
    inst_capacity: int
    slot_atom: torch.Tensor  # (N * slots_per_atom,) atom of each slot
    slot_flat: torch.Tensor  # (N * slots_per_atom,) padded position, grouped by relation
    slot_capacity: int
    edge_q: torch.Tensor  # (E,) row of the per-(center, neighbor group) vector sum
    cs_u0: torch.Tensor  # (N * cs_per_atom,) row of that sum for the first neighbor group
    cs_u1: torch.Tensor  # (N * cs_per_atom,) second group (triad, B != C) or the zero row
    cs_pair: torch.Tensor  # (N * cs_per_atom, 1) bool: center slot has two distinct groups
    atom_flat: torch.Tensor  # (N,) padded position of each atom, grouped by its element
    atom_capacity: int
    # Rows 0 .. update_rows - 1 get the per-atom update; the rest are ghost rows that an
    # engine overwrites after every hop, so a block may leave them as the message made them.
    update_rows: int
    update_flat: torch.Tensor  # (update_rows,) atom_flat of the leading rows alone
    update_capacity: int


class RelationTables(nn.Module):
    """Static lookup tables of one variant and element count, stored as buffers."""

    def __init__(self, variant: str, num_types: int) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose one of {list(VARIANTS)}")
        t = num_types
        pair_index = torch.zeros(t, t, dtype=torch.long)
        p = 0
        for b in range(t):
            for c in range(b, t):
                pair_index[b, c] = pair_index[c, b] = p
                p += 1
        arange_t = torch.arange(t)
        if variant == "vertex":
            per_edge, cs_per_atom, groups_per_atom = 1, 1, 1
            cs_of = torch.zeros(t, 1, dtype=torch.long)  # [type_j, C] -> center-slot
            side_q = torch.zeros(t, dtype=torch.long)  # neighbor group of type_j
            q0, q1 = torch.zeros(1, dtype=torch.long), torch.full((1,), -1)
        elif variant == "pair":
            per_edge, cs_per_atom, groups_per_atom = 1, t, t
            cs_of = arange_t.view(t, 1).clone()
            side_q = arange_t.clone()
            q0, q1 = arange_t.clone(), torch.full((t,), -1)
        else:
            per_edge, cs_per_atom, groups_per_atom = t, p, t
            cs_of = pair_index.clone()
            side_q = arange_t.clone()
            q0 = torch.tensor([b for b in range(t) for c in range(b, t)], dtype=torch.long)
            q1 = torch.tensor([c if c != b else -1 for b in range(t) for c in range(b, t)])
        # slot (j, A, C) -> relation A * cs_per_atom + cs_of[type_j, C]; rows by type_j.
        slot_rel = (arange_t.view(1, t, 1) * cs_per_atom + cs_of.view(t, 1, per_edge)).reshape(
            t, t * per_edge
        )
        self.variant = variant
        self.num_types = t
        self.num_relations = num_relations(variant, t)
        self.per_edge = per_edge
        self.cs_per_atom = cs_per_atom
        self.slots_per_atom = t * per_edge
        self.groups_per_atom = groups_per_atom
        # Only triad relations with B != C compare two neighbor groups; elsewhere the
        # update's second group is always empty and HermConv skips it.
        self.two_groups = bool((q1 >= 0).any())
        # Triad averages over the P relations of the center element (a constant, so the
        # result never depends on the rest of the batch); the other variants add.
        self.coefficient = 1.0 / p if variant == "triad" else 1.0
        self.register_buffer("cs_of", cs_of)
        self.register_buffer("slot_rel", slot_rel)
        self.register_buffer("side_q", side_q)
        self.register_buffer("q0", q0)
        self.register_buffer("q1", q1.to(torch.long))

    def forward(
        self, types: torch.Tensor, edge_index: torch.Tensor, update_rows: int = -1
    ) -> RelationIndex:
        """update_rows: rows that need the per-atom update (-1: all). Rows from update_rows
        on must be the center of no edge (ghosts of a domain, refreshed by an engine)."""
        n = types.shape[0]
        center, neighbor = edge_index[0], edge_index[1]
        num_edges = center.shape[0]
        device = types.device
        m = self.per_edge
        t_center, t_neighbor = types[center], types[neighbor]

        inst_edge = torch.arange(num_edges, device=device).repeat_interleave(m)
        which_c = torch.arange(m, device=device).repeat(num_edges)
        cs_local = self.cs_of[t_neighbor].reshape(-1)
        inst_rel = t_center[inst_edge] * self.cs_per_atom + cs_local
        inst_cs = center[inst_edge] * self.cs_per_atom + cs_local
        inst_slot = neighbor[inst_edge] * self.slots_per_atom + t_center[inst_edge] * m + which_c
        inst_layout = group_layout(inst_rel, self.num_relations)

        slot_groups = self.slot_rel[types].reshape(-1)
        slot_atom = torch.arange(n, device=device).repeat_interleave(self.slots_per_atom)
        slot_layout = group_layout(slot_groups, self.num_relations)

        atom_layout = group_layout(types, self.num_types)
        if update_rows < 0 or update_rows >= n:
            update_rows, update_layout = n, atom_layout
        else:
            if num_edges > 0 and int(center.max()) >= update_rows:
                raise ValueError(
                    "an edge has a center at or beyond update_rows; only the leading "
                    "update_rows rows (the local atoms) may be centers"
                )
            update_layout = group_layout(types[:update_rows], self.num_types)

        g = self.groups_per_atom
        edge_q = center * g + self.side_q[t_neighbor]
        cs_atom = torch.arange(n, device=device).repeat_interleave(self.cs_per_atom)
        q1 = self.q1.repeat(n)
        cs_u0 = cs_atom * g + self.q0.repeat(n)
        zero_row = torch.full_like(cs_u0, n * g)
        cs_u1 = torch.where(q1 >= 0, cs_atom * g + q1, zero_row)
        return RelationIndex(
            inst_edge=inst_edge,
            inst_slot=inst_slot,
            inst_cs=inst_cs,
            inst_flat=inst_layout[0],
            inst_capacity=int(inst_layout[1].item()),
            slot_atom=slot_atom,
            slot_flat=slot_layout[0],
            slot_capacity=int(slot_layout[1].item()),
            edge_q=edge_q,
            cs_u0=cs_u0,
            cs_u1=cs_u1,
            cs_pair=(q1 >= 0).unsqueeze(-1),
            atom_flat=atom_layout[0],
            atom_capacity=int(atom_layout[1].item()),
            update_rows=update_rows,
            update_flat=update_layout[0],
            update_capacity=int(update_layout[1].item()),
        )
