"""The embedded self-check: a training frame, its reference outputs and the tolerances.

The exporter stores a small structure with the energy, per-atom energies, forces and
virial that the eager Python model computed for it. Any engine rebuilds the edges with its
own neighbor list, evaluates the file and compares (the C++ twin is cpp/src/self_check.cpp).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hermnet.export import keys

# |a - b| <= atol + rtol * |b| for per-atom energies, forces and virial;
# |E - E_ref| <= energy_atol_per_atom * n_atoms for the total energy. float64 leaves room for
# a different summation order (another neighbor-list order, thread count or device);
# float32 for rounding of ~1e-7 relative in every layer (measured deviations are 10-100x
# smaller, see tests/export/test_export_parity.py).
TOLERANCES = {
    "float64": {keys.CHECK_RTOL: 1e-7, keys.CHECK_ATOL: 1e-7, keys.CHECK_ENERGY_ATOL: 1e-8},
    "float32": {keys.CHECK_RTOL: 1e-3, keys.CHECK_ATOL: 1e-3, keys.CHECK_ENERGY_ATOL: 1e-4},
}


@dataclass
class SelfCheckResult:
    passed: bool
    problems: list[str] = field(default_factory=list)
    max_deviation: dict[str, float] = field(default_factory=dict)

    def report(self) -> str:
        worst = ", ".join(f"{k} {v:.3g}" for k, v in self.max_deviation.items())
        if self.passed:
            return f"self-check passed (max |deviation|: {worst})"
        return "self-check FAILED: " + "; ".join(self.problems)


def compare(check: dict, outputs: dict[str, np.ndarray]) -> SelfCheckResult:
    """Compare engine outputs (float64 arrays keyed by keys.OUTPUTS) with the stored frame."""
    rtol, atol = float(check[keys.CHECK_RTOL]), float(check[keys.CHECK_ATOL])
    n = len(check[keys.CHECK_TYPES])
    problems: list[str] = []
    worst: dict[str, float] = {}

    energy = float(np.asarray(outputs[keys.ENERGY]).reshape(-1)[0])
    ref_energy = float(check[keys.CHECK_ENERGY])
    worst[keys.ENERGY] = abs(energy - ref_energy)
    energy_tol = float(check[keys.CHECK_ENERGY_ATOL]) * n
    if not worst[keys.ENERGY] <= energy_tol:
        problems.append(
            f"energy is {energy!r} eV, expected {ref_energy!r} eV (|difference| "
            f"{worst[keys.ENERGY]:.3g} > tolerance {energy_tol:.3g})"
        )
    pairs = (
        (keys.ATOMIC_ENERGY, keys.CHECK_ATOMIC_ENERGY, "eV"),
        (keys.FORCES, keys.CHECK_FORCES, "eV/Å"),
        (keys.VIRIAL, keys.CHECK_VIRIAL, "eV"),
    )
    for out_key, ref_key, unit in pairs:
        got = np.asarray(outputs[out_key], dtype=np.float64)
        ref = np.asarray(check[ref_key], dtype=np.float64)
        if got.shape != ref.shape:
            problems.append(f"{out_key} has shape {got.shape}, expected {ref.shape}")
            continue
        diff = np.abs(got - ref)
        excess = diff - (atol + rtol * np.abs(ref))
        worst[out_key] = float(diff.max(initial=0.0))
        if not np.all(excess <= 0):  # also catches NaN
            where = np.unravel_index(
                int(np.nanargmax(np.where(np.isnan(excess), np.inf, excess))), diff.shape
            )
            problems.append(
                f"{out_key} differs at index {tuple(int(i) for i in where)}: {got[where]!r} vs "
                f"expected {ref[where]!r} {unit} (max |difference| {worst[out_key]:.3g}, "
                f"tolerance {atol:.3g} + {rtol:.3g} * |expected|)"
            )
    return SelfCheckResult(passed=not problems, problems=problems, max_deviation=worst)
