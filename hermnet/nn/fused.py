"""HermConv with the C++ fused edge operators, for exported (TorchScript) models.

`hermnet::filter_message`, `hermnet::edge_message`, `hermnet::vector_message` and
`hermnet::gather_scale_add` (cpp/src/fused_ops.cpp) compute what HermConv's methods of the
same names compute with torch operators, but in one pass over the edges: the unfused chain
writes and re-reads several [edges, 3, F] tensors, which is where a CPU step spends most of
its time. filter_message also computes each edge's radial filter inside that pass.
`hermnet::moment_message` (cpp/src/moment_ops.cpp) does the same for the rank-2 moments of
painn2 and painn2v. The operators have their own backward (one pass as well) and fall back
to the operator chain for create_graph backward passes and on GPUs, so derivatives of every
order stay exact.

The operators live in the C++ core; importing hermnet._core registers them with torch, so
engines built on the core (the pybind module, LAMMPS) always have them. Training keeps the
plain HermConv: it needs the double backward, where the fused kernels do not apply.
"""

from __future__ import annotations

import torch
from torch import nn

from hermnet.nn.hermconv import EdgeGeometry, HermConv
from hermnet.nn.painn import PaiNNConv
from hermnet.nn.painn2 import PaiNN2Conv
from hermnet.nn.painn2v import PaiNN2VConv
from hermnet.nn.relations import RelationIndex


def load_fused_ops() -> None:
    """Register the hermnet:: operators with torch (they live in the C++ core)."""
    try:
        import hermnet._core  # noqa: F401  (registration is the import's side effect)
    except ImportError as err:
        raise ImportError(
            "the fused edge operators need hermnet._core, the C++ core, which is not built in "
            "this installation; reinstall hermnet (`pip install -e .`) or export with "
            "--unfused"
        ) from err


class FusedEdgeOperators:
    """The fused overrides of HermConv's edge methods, shared by every block built on its
    message hop (HermConv, PaiNNConv, PaiNN2Conv). Mixed in before the block's class."""

    def radial_message(
        self, phi: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # One instance per edge on a CPU: the filter is computed inside the edge loop, its
        # sums in registers and each weight load shared by a center's edges, instead of a
        # batched product with a 31-wide inner dimension (GPUs keep the batched product: one
        # large matrix product per layer is what they do best).
        if self.per_edge > 1 or not phi.is_cpu:
            return self.radial_message_chain(phi, v, geo, idx)
        relation = torch.div(idx.inst_flat, max(idx.inst_capacity, 1), rounding_mode="floor")
        return torch.ops.hermnet.filter_message(
            phi,
            idx.inst_slot,
            geo.inst_basis,
            relation,
            self.filter_weight(),
            v,
            geo.unit,
            geo.center,
            geo.neighbor,
            v.shape[0],
        )

    def edge_message(
        self,
        phi: torch.Tensor,
        filt: torch.Tensor,
        v: torch.Tensor,
        geo: EdgeGeometry,
        idx: RelationIndex,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.per_edge > 1:  # several instances per edge (triad): sum them first
            return self.edge_message_chain(phi, filt, v, geo, idx)
        return torch.ops.hermnet.edge_message(
            phi,
            idx.inst_slot,
            filt,
            idx.inst_flat,
            v,
            geo.unit,
            geo.center,
            geo.neighbor,
            v.shape[0],
        )

    def vector_message(
        self, v: torch.Tensor, a_v: torch.Tensor, a_r: torch.Tensor, geo: EdgeGeometry
    ) -> torch.Tensor:
        return torch.ops.hermnet.vector_message(
            v, a_v, a_r, geo.unit, geo.center, geo.neighbor, v.shape[0]
        )

    def gather_scale_add(
        self, x: torch.Tensor, w: torch.Tensor, src: torch.Tensor, dst: torch.Tensor, rows: int
    ) -> torch.Tensor:
        return torch.ops.hermnet.gather_scale_add(x, w, src, dst, rows)


class FusedMomentOperator:
    """The fused override of PaiNN2Conv.moment_message, for painn2 and painn2v."""

    def moment_message(
        self, phi_q: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex, n: int
    ) -> torch.Tensor:
        if self.per_edge > 1 or not phi_q.is_cpu:  # GPUs keep the batched product
            return self.moment_message_chain(phi_q, geo, idx, n)
        relation = torch.div(idx.inst_flat, max(idx.inst_capacity, 1), rounding_mode="floor")
        q = torch.ops.hermnet.moment_message(
            phi_q,
            idx.inst_slot,
            geo.inst_basis,
            relation,
            self.moment_filter_weight(),
            geo.unit,
            geo.center,
            n,
        )
        if self.coefficient != 1.0:
            q = self.coefficient * q
        return q


class FusedHermConv(FusedEdgeOperators, HermConv):
    pass


class FusedPaiNNConv(FusedEdgeOperators, PaiNNConv):
    pass


class FusedPaiNN2Conv(FusedMomentOperator, FusedEdgeOperators, PaiNN2Conv):
    pass


class FusedPaiNN2VConv(FusedMomentOperator, FusedEdgeOperators, PaiNN2VConv):
    pass


_FUSED = {
    HermConv: FusedHermConv,
    PaiNNConv: FusedPaiNNConv,
    PaiNN2Conv: FusedPaiNN2Conv,
    PaiNN2VConv: FusedPaiNN2VConv,
}


def fuse_layers(model: nn.Module) -> nn.Module:
    """Switch every layer of `model` to the fused edge operators, in place (same weights)."""
    load_fused_ops()
    for module in model.modules():
        fused = _FUSED.get(type(module))
        if fused is not None:
            module.__class__ = fused
    return model
