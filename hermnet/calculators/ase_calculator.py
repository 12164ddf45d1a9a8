"""ASE calculator over a trained HermNet checkpoint or an exported model."""

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from hermnet import keys
from hermnet.model.checkpoint import load_potential
from hermnet.model.potential import evaluate_structure, stress_from_virial

BACKENDS = ("python", "cpp")


# The committee's deviation in `results` (model=[m0, m1, ...]); see hermnet.deviation.
DEVIATION_RESULTS = (
    "force_deviation",
    "max_force_deviation",
    "min_force_deviation",
    "avg_force_deviation",
    "virial_deviation",
    "max_virial_deviation",
    "min_virial_deviation",
    "avg_virial_deviation",
    "energy_deviation",
)


class NonFiniteError(RuntimeError):
    """The model gave NaN or inf (the C++ core raises the same message as ModelError)."""


class HermNetCalculator(Calculator):
    """Energy, free energy, forces, stress (periodic cells) and per-atom energies.

    model: a training checkpoint (best.pt / last.pt; EMA weights are used when present) or
    a model written by `hermnet export`. backend: "python" (PyTorch, or TorchScript for an
    exported file) or "cpp" (the C++ core with its own neighbor list; exported files only).
    chunk_edges (cpp only): evaluate structures with more edges in chunks of at most this
    many, recomputing them in the backward pass (bounded memory for large cells).
    Works for molecules and periodic cells, with ASE's MD, optimizers and phonon tools.

    model=[m0, m1, ...]: a committee (models trained alike with different seeds). The
    results are those of m0; every model is evaluated and `results` also holds the
    committee's model deviation as DeePMD-kit defines it (hermnet.deviation):
    "force_deviation" (N,) eV/Å per atom, "max_force_deviation", "min_force_deviation",
    "avg_force_deviation", "virial_deviation" (3, 3) eV per atom, "max_virial_deviation",
    "min_virial_deviation", "avg_virial_deviation" and "energy_deviation" (eV per atom).
    relative=L and relative_v=L give DeePMD's relative deviations. Models that differ in
    elements, cutoff or units are refused (hermnet.committee.CommitteeError).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]

    def __init__(
        self,
        model,
        device: str = "cpu",
        backend: str = "python",
        chunk_edges: int = 0,
        relative: float | None = None,
        relative_v: float | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        from hermnet.export import is_exported_model

        self.members: list[HermNetCalculator] = []
        self._want_virial = False  # committee members also return the 3x3 virial
        if isinstance(model, (list, tuple)):
            self._init_committee(list(model), device, backend, chunk_edges)
            self.relative, self.relative_v = relative, relative_v
            return
        if relative is not None or relative_v is not None:
            raise ValueError("relative and relative_v need a committee: model=[m0, m1, ...]")

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
            from hermnet.export import ModelFileError, read_metadata

            try:  # says which: missing, truncated or damaged, or a training checkpoint
                read_metadata(model)
            except ModelFileError as err:
                raise ValueError(f"the C++ backend needs an exported model: {err}") from err
        self.potential, self.config, _ = load_potential(model, device=str(self.device))
        self.elements = list(self.config.elements)
        self.dtype = next(self.potential.parameters()).dtype
        self.cutoff = self.config.cutoff

    def _init_committee(self, models: list, device: str, backend: str, chunk_edges: int) -> None:
        from hermnet.committee import check_committee, describe

        check_committee([describe(m) for m in models])
        self.members = [
            HermNetCalculator(m, device=device, backend=backend, chunk_edges=chunk_edges)
            for m in models
        ]
        for member in self.members:
            member._want_virial = True
        self.elements, self.cutoff = self.members[0].elements, self.members[0].cutoff
        self.implemented_properties = list(HermNetCalculator.implemented_properties) + list(
            DEVIATION_RESULTS
        )

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
        if self.members:
            self._calculate_committee(self.atoms, properties, system_changes)
            return
        if self.exported is not None:
            self._calculate_exported(self.atoms)
        else:
            self._calculate_checkpoint(self.atoms)
        self._check_finite(self.atoms)

    def _calculate_checkpoint(self, atoms) -> None:
        periodic = bool(atoms.pbc.any())
        out = evaluate_structure(
            self.potential,
            atoms.positions,
            self._types(atoms),
            atoms.cell.array,
            atoms.pbc,
            compute_virial=periodic or self._want_virial,
        )
        energy = float(out[keys.ENERGY][0])
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "forces": out[keys.FORCES].detach().cpu().double().numpy(),
        }
        if self._want_virial:
            self.results["virial"] = out[keys.VIRIAL][0].detach().cpu().double().numpy()
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
            atoms.positions,
            atoms.numbers,
            atoms.cell.array,
            atoms.pbc,
            compute_virial=periodic or self._want_virial,
        )
        out = {k: torch.as_tensor(v).detach().cpu().double() for k, v in out.items()}
        energy = float(out[keys.ENERGY][0])
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "forces": out[keys.FORCES].numpy(),
            "energies": out[keys.ATOMIC_ENERGY].numpy(),
        }
        if self._want_virial:
            self.results["virial"] = out[keys.VIRIAL].reshape(3, 3).numpy()
        if periodic:
            cell = torch.as_tensor(atoms.cell.array, dtype=torch.float64).unsqueeze(0)
            stress = stress_from_virial(out[keys.VIRIAL].reshape(1, 3, 3), cell)[0].numpy()
            self.results["stress"] = full_3x3_to_voigt_6_stress(stress)

    def _calculate_committee(self, atoms, properties, system_changes) -> None:
        """Every member on the same structure; m0's results plus the deviation."""
        from hermnet.deviation import frame_deviation

        for member in self.members:
            member.calculate(atoms, properties, system_changes)
        runs = [member.results for member in self.members]
        deviation = frame_deviation(
            [r["energy"] for r in runs],
            [r["forces"] for r in runs],
            [r["virial"] for r in runs],
            relative=self.relative,
            relative_v=self.relative_v,
        )
        self.results = dict(runs[0])
        self.results.update(
            force_deviation=deviation.atomic_f,
            max_force_deviation=deviation.max_devi_f,
            min_force_deviation=deviation.min_devi_f,
            avg_force_deviation=deviation.avg_devi_f,
            virial_deviation=deviation.virial,
            max_virial_deviation=deviation.max_devi_v,
            min_virial_deviation=deviation.min_devi_v,
            avg_virial_deviation=deviation.avg_devi_v,
            energy_deviation=deviation.devi_e,
        )
        self.deviation = deviation

    def _check_finite(self, atoms) -> None:
        """Stop like the C++ core and LAMMPS do, instead of handing NaN to an MD loop."""
        what, where = None, ""
        if not np.isfinite(self.results["energy"]):
            what = "energy"
        else:
            bad = np.flatnonzero(~np.isfinite(self.results["forces"]).all(axis=1))
            if bad.size:
                what, where = "force", f" (first on atom {int(bad[0])})"
            elif "stress" in self.results and not np.isfinite(self.results["stress"]).all():
                what = "stress"
        if what is None:
            return
        self.results = {}  # nothing non-finite stays cached for the next call
        raise NonFiniteError(
            f"the model produced a non-finite {what}{where} for {len(atoms)} atoms; stopped "
            f"rather than continue with wrong forces. {_closest_pair(atoms, self.cutoff)}Atoms "
            "may overlap or sit far outside the training data; check the structure and the "
            "time step"
        )


def _closest_pair(atoms, cutoff: float) -> str:
    from hermnet.data.neighbors import build_graph

    try:
        edges, shifts = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, cutoff)
    except Exception:  # the hint is optional; the error above is what matters
        return ""
    if edges.shape[1] == 0:
        return ""
    vectors = atoms.positions[edges[1]] - atoms.positions[edges[0]] + shifts
    lengths = np.linalg.norm(vectors, axis=1)
    k = int(np.argmin(lengths))
    i, j = int(edges[0, k]), int(edges[1, k])
    return f"The closest atoms are {i} and {j}, {lengths[k]:.3g} Å apart. "
