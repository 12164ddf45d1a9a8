"""ASE calculator over a trained HermNet checkpoint or an exported model."""

import torch
from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from hermnet import keys
from hermnet.model.checkpoint import load_potential
from hermnet.model.potential import evaluate_structure, stress_from_virial

BACKENDS = ("python", "cpp")


class HermNetCalculator(Calculator):
    """Energy, free energy, forces, stress (periodic cells) and per-atom energies.

    model: a training checkpoint (best.pt / last.pt; EMA weights are used when present) or
    a model written by `hermnet export`. backend: "python" (PyTorch, or TorchScript for an
    exported file) or "cpp" (the C++ core with its own neighbor list; exported files only).
    chunk_edges (cpp only): evaluate structures with more edges in chunks of at most this
    many, recomputing them in the backward pass (bounded memory for large cells).
    Works for molecules and periodic cells, with ASE's MD, optimizers and phonon tools.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]

    def __init__(
        self,
        model,
        device: str = "cpu",
        backend: str = "python",
        chunk_edges: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        from hermnet.export import is_exported_model

        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
        if chunk_edges and backend != "cpp":
            raise ValueError(
                "chunk_edges needs backend='cpp' (chunked evaluation is in the C++ core)"
            )
        self.device = torch.device(device)
        self.backend = backend
        self.exported = None
        if is_exported_model(model):
            from hermnet.export import load_core, load_exported

            loader = load_core if backend == "cpp" else load_exported
            self.exported = loader(model, str(self.device))
            if chunk_edges:
                self.exported.core.chunk_edges = chunk_edges
            self.elements = list(self.exported.elements)
            self.cutoff = self.exported.cutoff
            return
        if backend == "cpp":
            raise ValueError(
                f"{model} is a training checkpoint; the C++ backend needs an exported model: "
                "run `hermnet export CHECKPOINT -o model.pt` and pass model.pt"
            )
        self.potential, self.config, _ = load_potential(model, device=str(self.device))
        self.elements = list(self.config.elements)
        self.dtype = next(self.potential.parameters()).dtype
        self.cutoff = self.config.cutoff

    def _types(self, atoms) -> torch.Tensor:
        symbols = atoms.get_chemical_symbols()
        missing = sorted(set(symbols) - set(self.elements))
        if missing:
            raise ValueError(
                f"the structure contains {missing}, which this model does not know; the model's "
                f"elements are {self.elements}"
            )
        index = {e: i for i, e in enumerate(self.elements)}
        return torch.tensor([index[s] for s in symbols], dtype=torch.long, device=self.device)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if self.exported is not None:
            self._calculate_exported(self.atoms)
            return
        atoms = self.atoms
        periodic = bool(atoms.pbc.any())
        out = evaluate_structure(
            self.potential,
            atoms.positions,
            self._types(atoms),
            atoms.cell.array,
            atoms.pbc,
            compute_virial=periodic,
        )
        energy = float(out[keys.ENERGY][0])
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "forces": out[keys.FORCES].detach().cpu().double().numpy(),
        }
        if keys.ATOMIC_ENERGY in out:
            self.results["energies"] = out[keys.ATOMIC_ENERGY].detach().cpu().double().numpy()
        if periodic:
            stress = out[keys.STRESS][0].detach().cpu().double().numpy()
            self.results["stress"] = full_3x3_to_voigt_6_stress(stress)

    def _calculate_exported(self, atoms) -> None:
        """TorchScript ("python") or C++ core ("cpp"); both build their own graph."""
        self._types(atoms)  # the clear error for unknown elements
        periodic = bool(atoms.pbc.any())
        out = self.exported.evaluate(
            atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, compute_virial=periodic
        )
        out = {k: torch.as_tensor(v).detach().cpu().double() for k, v in out.items()}
        energy = float(out[keys.ENERGY][0])
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "forces": out[keys.FORCES].numpy(),
            "energies": out[keys.ATOMIC_ENERGY].numpy(),
        }
        if periodic:
            cell = torch.as_tensor(atoms.cell.array, dtype=torch.float64).unsqueeze(0)
            stress = stress_from_virial(out[keys.VIRIAL].reshape(1, 3, 3), cell)[0].numpy()
            self.results["stress"] = full_3x3_to_voigt_6_stress(stress)
