"""Forces, virials and stresses from a HermNet energy model.

The energy depends on positions only through the edge vectors d_e = r_j - r_i + shift_e,
so one gradient g_e = dE/dd_e gives everything:
  forces       F_k = sum_{e: i_e = k} g_e - sum_{e: j_e = k} g_e
  virial       W   = -sum_e d_e (x) g_e                      (LAMMPS sign, eV)
  atomic virial      each edge's -d_e (x) g_e split half to i_e and half to j_e
  stress       sigma = -W^T / volume                          (ASE sign: + = tensile)
This is the single place where the virial is turned into a stress.
"""

import torch
from torch import nn

from hermnet import keys
from hermnet.model.hermnet import HermNet


class HermNetPotential(nn.Module):
    def __init__(self, model: HermNet) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        positions: torch.Tensor,
        types: torch.Tensor,
        edge_index: torch.Tensor,
        edge_shift: torch.Tensor,
        batch: torch.Tensor,
        num_graphs: int,
        cell: torch.Tensor | None = None,
        compute_forces: bool = True,
        compute_virial: bool = False,
        compute_atomic_virial: bool = False,
        create_graph: bool = False,
    ) -> dict[str, torch.Tensor]:
        center = edge_index[0]
        need_grad = compute_forces or compute_virial or compute_atomic_virial
        edge_vec = edge_vectors(positions, edge_index, edge_shift, need_grad)
        energy, atomic = self.model(edge_vec, types, edge_index, batch, num_graphs)
        out: dict[str, torch.Tensor] = {keys.ENERGY: energy}
        if atomic.numel() > 0:
            out[keys.ATOMIC_ENERGY] = atomic
        if not need_grad:
            return out

        derived = edge_derivatives(
            energy.sum(),
            edge_vec,
            edge_index,
            positions.shape[0],
            batch[center],
            num_graphs,
            compute_forces,
            compute_virial,
            compute_atomic_virial,
            create_graph,
        )
        out.update(derived)
        if compute_virial and cell is not None:
            out[keys.STRESS] = stress_from_virial(derived[keys.VIRIAL], cell)
        if not create_graph:
            # autograd.grad has freed the graph: the outputs are plain values now.
            out = {key: value.detach() for key, value in out.items()}
        return out


def edge_vectors(
    positions: torch.Tensor, edge_index: torch.Tensor, edge_shift: torch.Tensor, need_grad: bool
) -> torch.Tensor:
    """d_e = r_j - r_i + shift_e; a fresh leaf that requires grad when derivatives follow."""
    center, neighbor = edge_index[0], edge_index[1]
    edge_vec = positions.index_select(0, neighbor) - positions.index_select(0, center)
    edge_vec = edge_vec + edge_shift
    if need_grad:
        edge_vec = edge_vec.detach().requires_grad_(True)
    return edge_vec


def edge_derivatives(
    energy: torch.Tensor,
    edge_vec: torch.Tensor,
    edge_index: torch.Tensor,
    num_atoms: int,
    edge_graph: torch.Tensor,
    num_graphs: int,
    compute_forces: bool = True,
    compute_virial: bool = False,
    compute_atomic_virial: bool = False,
    create_graph: bool = False,
) -> dict[str, torch.Tensor]:
    """Forces, virial and per-atom virial from g_e = dE/dd_e (the module docstring's sums).

    energy: scalar that depends on `edge_vec` (which requires grad); edge_graph: (E,)
    structure index of each edge. Shared by HermNetPotential and the exported model
    (hermnet.export), so that training, ASE and every engine use the same arithmetic.
    """
    grads: list[torch.Tensor | None] = torch.autograd.grad(
        [energy], [edge_vec], create_graph=create_graph, allow_unused=True
    )
    g = grads[0]
    if g is None:  # no edge influences the energy (e.g. isolated atoms)
        g = torch.zeros_like(edge_vec)
    return derivatives_from_edge_gradient(
        g,
        edge_vec,
        edge_index,
        num_atoms,
        edge_graph,
        num_graphs,
        compute_forces,
        compute_virial,
        compute_atomic_virial,
    )


def derivatives_from_edge_gradient(
    g: torch.Tensor,
    edge_vec: torch.Tensor,
    edge_index: torch.Tensor,
    num_atoms: int,
    edge_graph: torch.Tensor,
    num_graphs: int,
    compute_forces: bool,
    compute_virial: bool,
    compute_atomic_virial: bool,
) -> dict[str, torch.Tensor]:
    """The module docstring's sums, given g_e = dE/dd_e (however it was accumulated: in one
    backward pass, or hop by hop by an engine that exchanges ghost features)."""
    center, neighbor = edge_index[0], edge_index[1]
    out: dict[str, torch.Tensor] = {}
    if compute_forces:
        out[keys.FORCES] = (
            g.new_zeros(num_atoms, 3).index_add(0, center, g).index_add(0, neighbor, -g)
        )
    if compute_virial or compute_atomic_virial:
        edge_virial = -edge_vec.unsqueeze(-1) * g.unsqueeze(-2)  # (E, 3, 3)
        if compute_virial:
            out[keys.VIRIAL] = g.new_zeros(num_graphs, 3, 3).index_add(0, edge_graph, edge_virial)
        if compute_atomic_virial:
            half = 0.5 * edge_virial
            out[keys.ATOMIC_VIRIAL] = (
                g.new_zeros(num_atoms, 3, 3).index_add(0, center, half).index_add(0, neighbor, half)
            )
    return out


def stress_from_virial(virial: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
    """sigma = -W^T / volume (ASE sign: + = tensile); zero for a cell without volume.

    virial (G, 3, 3), cell (G, 3, 3) rows are cell vectors. The one place where the sign
    convention is converted.
    """
    volume = torch.linalg.det(cell).abs().to(virial.dtype)
    inv = torch.where(volume > 0, 1.0 / volume, torch.zeros_like(volume))
    return -virial.transpose(1, 2) * inv.view(-1, 1, 1)


def evaluate_structure(
    potential: HermNetPotential,
    positions,
    types,
    cell,
    pbc,
    compute_virial: bool = False,
    compute_atomic_virial: bool = False,
) -> dict[str, torch.Tensor]:
    """One structure (numpy or lists: positions (n, 3) Å, type indices, cell, pbc) through
    `potential`, with the graph built by hermnet.data.build_graph on the potential's
    device and dtype. Stress is included whenever the virial is."""
    import numpy as np

    from hermnet.data.neighbors import build_graph

    reference = next(potential.parameters())
    device, dtype = reference.device, reference.dtype
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    cell = np.ascontiguousarray(cell, dtype=np.float64)
    edge_index, edge_shift = build_graph(positions, cell, pbc, potential.model.cutoff)
    return potential(
        torch.as_tensor(positions, dtype=dtype, device=device),
        torch.as_tensor(np.asarray(types), dtype=torch.long, device=device),
        torch.as_tensor(edge_index, device=device),
        torch.as_tensor(edge_shift, dtype=dtype, device=device),
        torch.zeros(len(positions), dtype=torch.long, device=device),
        1,
        cell=torch.as_tensor(cell, dtype=dtype, device=device).unsqueeze(0),
        compute_forces=True,
        compute_virial=compute_virial or compute_atomic_virial,
        compute_atomic_virial=compute_atomic_virial,
    )
