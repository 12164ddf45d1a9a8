"""The HermNet energy model: embedding, L HermConv layers, readout.

`HermNet.forward` maps edge vectors to energies. Everything positional enters through
the edge vectors d_ij, so forces, virials and stresses all follow from dE/dd_ij (see
hermnet.model.potential).
"""

import torch
from torch import nn

from hermnet.model.config import ModelConfig
from hermnet.nn.activations import make_activation
from hermnet.nn.hermconv import EdgeGeometry, HermConv
from hermnet.nn.painn import PaiNNConv
from hermnet.nn.painn2 import PaiNN2Conv
from hermnet.nn.painn2v import PaiNN2VConv
from hermnet.nn.radial import CosineCutoff, SineBasis
from hermnet.nn.relations import RelationIndex, RelationTables
from hermnet.nn.tensor import TensorEmbedding, TensorInteraction

NUM_PERIODIC_TABLE_ROWS = 119  # ase.data.chemical_symbols: X plus Z = 1..118
_FLOAT64_BUFFERS = ("shift", "scale", "mean_energy")


class HermNet(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        t = len(config.elements)
        f = config.features
        self.num_types = t
        self.features = f
        self.cutoff = config.cutoff
        self.pooled = config.readout == "pooled"
        self.smooth = config.aggregation == "smooth"
        self.aggregation_eps = config.aggregation_eps

        if config.embedding == "periodic_table":
            rows, embed_index = (
                NUM_PERIODIC_TABLE_ROWS,
                torch.tensor(config.atomic_numbers),
            )
        else:
            rows, embed_index = t, torch.arange(t)
        self.embedding = nn.Embedding(rows, f)
        self.register_buffer("embed_index", embed_index.to(torch.long))

        self.basis = SineBasis(config.cutoff, config.radial_basis)
        self.cutoff_fn = CosineCutoff(config.cutoff)
        self.relations = RelationTables(config.variant, t)
        rel = self.relations
        # Radial filters: f_c [e(r) | 1] W per layer and relation (published), or with
        # radial_mlp > 0 a hidden layer h(r) = act(e(r) A + c) shared by every layer first.
        radial_width = config.radial_basis
        if config.radial_mlp > 0:
            radial_width = config.radial_mlp
            self.radial_hidden = nn.Sequential(
                nn.Linear(config.radial_basis, config.radial_mlp),
                make_activation(config.activation),
            )
        else:
            self.radial_hidden = nn.Identity()
        self.layers = nn.ModuleList(
            [
                self._make_layer(config, rel, radial_width, first=i == 0)
                for i in range(config.layers)
            ]
        )
        self.hops_per_layer = self.layers[0].hops_per_layer
        # Width of v's rows: F vectors, or the tensor block's 3 x 3 x F tensors as [3, 3F].
        self.vector_width = int(getattr(self.layers[0], "vector_width", f))
        self.readout = nn.Sequential(
            nn.Linear(f, f),
            make_activation(config.activation),
            nn.Dropout(config.dropout),
            nn.Linear(f, 1),
        )
        # Energy normalisation, fitted on the training set (hermnet.data.statistics):
        # e_i = scale * MLP(s_i) + shift[type_i]; pooled: E = MLP(sum_i s_i) + mean_energy.
        self.register_buffer("shift", torch.zeros(t, dtype=torch.float64))
        self.register_buffer("scale", torch.ones((), dtype=torch.float64))
        self.register_buffer("mean_energy", torch.zeros((), dtype=torch.float64))

    @staticmethod
    def _make_layer(
        config: ModelConfig, rel: RelationTables, radial_width: int, first: bool
    ) -> nn.Module:
        # What every block's layer takes: the relation layout, widths and activation.
        args = dict(
            num_relations=rel.num_relations,
            features=config.features,
            radial_basis=radial_width,
            activation=config.activation,
            dropout=config.dropout,
            coefficient=rel.coefficient,
            per_edge=rel.per_edge,
        )
        if config.block == "tensor":
            layer = TensorEmbedding if first else TensorInteraction
            return layer(num_types=rel.num_types, **args)
        args.update(
            cs_per_atom=rel.cs_per_atom,
            groups_per_atom=rel.groups_per_atom,
            two_groups=rel.two_groups,
            norm_eps=config.norm_eps,
            zero_vectors_in=first,  # embed() starts every v at zero
        )
        if config.block == "painn":
            return PaiNNConv(num_types=rel.num_types, **args)
        if config.block == "painn2":
            return PaiNN2Conv(num_types=rel.num_types, **args)
        if config.block == "painn2v":
            return PaiNN2VConv(num_types=rel.num_types, **args)
        return HermConv(**args)

    def _geometry(
        self,
        edge_vec: torch.Tensor,
        edge_index: torch.Tensor,
        n: int,
        idx: RelationIndex,
    ):
        r = torch.linalg.vector_norm(edge_vec, dim=-1)
        fc = self.cutoff_fn(r)
        numerator = fc if self.smooth else torch.ones_like(fc)
        per_inst = numerator.index_select(0, idx.inst_edge)
        total = per_inst.new_zeros(n * self.relations.cs_per_atom).index_add(
            0, idx.inst_cs, per_inst
        )
        # Plain mean: an empty center slot sums nothing, so clamping its count is harmless.
        denominator = total + self.aggregation_eps if self.smooth else total.clamp(min=1.0)
        fc_col = fc.unsqueeze(-1)
        basis = torch.cat([self.radial_hidden(self.basis(r)) * fc_col, fc_col], dim=-1)
        if self.relations.per_edge > 1:
            basis = basis.index_select(0, idx.inst_edge)
        return EdgeGeometry(
            center=edge_index[0],
            neighbor=edge_index[1],
            unit=edge_vec / r.unsqueeze(-1),
            inst_basis=basis,
            agg_weight=(per_inst / denominator.index_select(0, idx.inst_cs)).unsqueeze(-1),
            agg_numerator=numerator.view(-1, 1, 1),
            agg_denominator=denominator.view(-1, 1, 1),
        )

    def prepare(
        self,
        edge_vec: torch.Tensor,
        types: torch.Tensor,
        edge_index: torch.Tensor,
        update_rows: int = -1,
    ) -> tuple[EdgeGeometry, RelationIndex]:
        """Everything the hops share: relation index tables and edge geometry.

        update_rows: the leading rows whose hop outputs are used (-1: all); see
        RelationTables.forward."""
        idx = self.relations(types, edge_index, update_rows)
        return self._geometry(edge_vec, edge_index, types.shape[0], idx), idx

    def embed(self, types: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """Initial features: element embedding s [N, F], zero v [N, 3, vector_width]."""
        s = self.embedding(self.embed_index[types]).to(dtype)
        return s, s.new_zeros(s.shape[0], 3, self.vector_width)

    def hop(
        self, k: int, s: torch.Tensor, v: torch.Tensor, geo: EdgeGeometry, idx: RelationIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Message-passing hop k: hop k % h of layer k // h (h hops per layer)."""
        h = self.hops_per_layer
        if k < 0 or k >= h * len(self.layers):
            raise ValueError("hop index outside 0 .. hops per layer * layers - 1")
        out_s, out_v = s, v
        # TorchScript cannot index a ModuleList with a variable: scan it.
        for i, layer in enumerate(self.layers):
            if i == k // h:
                out_s, out_v = layer.hop(k % h, s, v, geo, idx)
        return out_s, out_v

    def atomic_energy(self, s: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        """Per-atom energies (float64) of the atomic readout from the final scalars."""
        # Energies are accumulated in float64 whatever the model dtype: total energies of
        # real systems (1e3 to 1e6 eV) are beyond float32 resolution at the meV level.
        atomic = (self.readout(s).squeeze(-1) * self.scale.to(s.dtype)).double()
        return atomic + self.shift[types]

    def forward(
        self,
        edge_vec: torch.Tensor,
        types: torch.Tensor,
        edge_index: torch.Tensor,
        batch: torch.Tensor,
        num_graphs: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Energies from edge vectors.

        Returns (energy [num_graphs], atomic_energy [N]); atomic_energy is empty for the
        pooled readout, which has no per-atom energies.
        """
        geo, idx = self.prepare(edge_vec, types, edge_index)
        s, v = self.embed(types, edge_vec.dtype)
        for layer in self.layers:
            s, v = layer(s, v, geo, idx)
        if self.pooled:
            pooled = s.new_zeros(num_graphs, self.features).index_add(0, batch, s)
            energy = self.readout(pooled).squeeze(-1).double() + self.mean_energy
            return energy, energy.new_zeros(0)
        atomic = self.atomic_energy(s, types)
        energy = atomic.new_zeros(num_graphs).index_add(0, batch, atomic)
        return energy, atomic

    def _apply(self, fn, *args, **kwargs):
        # Module.to(dtype) would round the energy references to the model dtype; keep them
        # float64 (only their device follows the module).
        kept = {name: getattr(self, name) for name in _FLOAT64_BUFFERS}
        super()._apply(fn, *args, **kwargs)
        for name, value in kept.items():
            setattr(self, name, value.to(device=getattr(self, name).device))
        return self

    def set_energy_reference(self, shift=None, scale=None, mean_energy=None) -> None:
        """Store the training-set statistics (per-element shifts, scale, mean energy)."""
        if shift is not None:
            self.shift.copy_(torch.as_tensor(shift, dtype=torch.float64))
        if scale is not None:
            self.scale.fill_(float(scale))
        if mean_energy is not None:
            self.mean_energy.fill_(float(mean_energy))
