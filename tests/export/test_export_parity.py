"""Parity chain: eager Python -> exported TorchScript in Python -> C++ core (pybind11).

float64: every output agrees to 1e-10 relative to its scale (max |a - b| / max |b|).
float32: the float32 export agrees with the float64 eager model to FLOAT32_RTOL (same
measure); the C++ and TorchScript float32 paths agree with each other to 1e-5.
The C++ neighbor list is checked to give exactly Python's edges before outputs are compared.
"""

import numpy as np
import pytest

from hermnet.export import load_core, load_exported
from tests.export.export_helpers import (
    OUTPUTS,
    as_numpy,
    eager_outputs,
    export_tiny,
    graph,
    max_relative,
)
from tests.model.helpers import MODEL_KINDS, alloy, cu_h_cell, ethanol, tiny_potential

FLOAT64_RTOL = 1e-10
FLOAT32_RTOL = 1e-4  # measured: <= 2e-6 on these systems

SYSTEMS = {
    "molecule": ethanol,
    "thin-triclinic": lambda: cu_h_cell(thin=True, triclinic=True),
    "periodic": cu_h_cell,
    "alloy4": lambda: alloy(n_repeat=2),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exported")
    paths = {}
    for variant in MODEL_KINDS:
        for dtype in ("float64", "float32"):
            paths[variant, dtype] = folder / f"{variant}-{dtype}.pt"
            export_tiny(variant, paths[variant, dtype], dtype=dtype)
    return paths


@pytest.fixture(scope="module")
def loaded(exported):
    """Loaded once per module: a TorchScript module's first calls are slow (warm-up)."""
    return {key: (load_exported(path), load_core(path)) for key, path in exported.items()}


def three_paths(models, atoms):
    """(TorchScript in Python, C++ on Python's edges, C++ with its own neighbor list)."""
    script, core = models
    types, edge_index, edge_shift = graph(atoms, script.cutoff)
    flags = dict(compute_virial=True, compute_atomic_virial=True)
    ts = as_numpy(script.compute(atoms.positions, types, edge_index, edge_shift, **flags))
    cpp = core.compute(atoms.positions, types, edge_index, edge_shift, **flags)
    cpp_nl = core.evaluate(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, **flags)
    return ts, cpp, cpp_nl


@pytest.mark.parametrize("system", SYSTEMS)
def test_cpp_neighbor_list_gives_python_edges(system):
    from hermnet.export.core import neighbor_list

    atoms = SYSTEMS[system]()
    _, edge_index, edge_shift = graph(atoms, 3.5)
    cpp_index, cpp_shift, _ = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 3.5)
    np.testing.assert_array_equal(cpp_index, edge_index)
    np.testing.assert_allclose(cpp_shift, edge_shift, rtol=0, atol=1e-12)


@pytest.mark.parametrize("variant", MODEL_KINDS)
@pytest.mark.parametrize("system", SYSTEMS)
def test_float64_parity(variant, system, loaded):
    atoms = SYSTEMS[system]()
    eager = eager_outputs(tiny_potential(variant), atoms)
    for name, out in zip(  # noqa: B905 (three paths)
        ("torchscript", "cpp", "cpp+nl"), three_paths(loaded[variant, "float64"], atoms)
    ):
        assert set(OUTPUTS) <= set(out), name
        for key in OUTPUTS:
            got = np.asarray(out[key]).reshape(eager[key].shape)
            assert max_relative(got, eager[key]) < FLOAT64_RTOL, (name, key)


@pytest.mark.slow
@pytest.mark.parametrize("variant", MODEL_KINDS)
@pytest.mark.parametrize("system", ["molecule", "alloy4"])
def test_float32_parity(variant, system, loaded):
    atoms = SYSTEMS[system]()
    eager = eager_outputs(tiny_potential(variant), atoms)
    ts, cpp, cpp_nl = three_paths(loaded[variant, "float32"], atoms)
    for key in OUTPUTS:
        for out in (ts, cpp, cpp_nl):
            got = np.asarray(out[key]).reshape(eager[key].shape)
            assert max_relative(got, eager[key]) < FLOAT32_RTOL, key
        assert max_relative(np.asarray(cpp[key]), ts[key]) < 1e-5, key


def test_only_requested_outputs(loaded):
    atoms = ethanol()
    script, core = loaded["vertex", "float64"]
    out = core.evaluate(
        atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, compute_forces=False
    )
    assert set(out) == {"energy", "atomic_energy"}
    out = script.evaluate(
        atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, compute_forces=False
    )
    assert set(out) == {"energy", "atomic_energy"}
