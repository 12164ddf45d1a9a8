"""The C++ core stops instead of returning wrong forces: NaN inputs, NaN outputs and running
out of memory each give an error that names the atoms (and, for memory, the edges and an
estimate of what the pass needs)."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from hermnet.export import load_core
from tests.export.export_helpers import export_tiny
from tests.model.helpers import alloy


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("guards") / "m.pt"
    export_tiny("vertex", path)
    return path


def test_nan_position_is_named(model_path):
    core = load_core(model_path)
    atoms = alloy(n_repeat=1, seed=2)
    positions = atoms.positions.copy()
    positions[2, 1] = np.nan
    edge_index, shifts = np.array([[0, 1], [1, 0]]), np.zeros((2, 3))
    with pytest.raises(RuntimeError, match="atom 2 has a non-finite position"):
        core.compute(positions, core.types(atoms.numbers), edge_index, shifts)


@pytest.mark.parametrize("path", ["whole graph", "hop by hop"])
def test_overlapping_atoms_stop_with_non_finite_forces(model_path, path):
    """Two atoms on one site: the edge direction d/|d| is 0/0, so forces become NaN."""
    core = load_core(model_path)
    atoms = alloy(n_repeat=1, seed=2)
    positions = atoms.positions.copy()
    positions[1] = positions[0]
    edge_index = np.array([[0, 1], [1, 0]])
    shifts = np.zeros((2, 3))
    types = core.types(atoms.numbers)
    expected = "non-finite (energy|force).*stopped rather than continue"
    with pytest.raises(RuntimeError, match=expected):
        if path == "whole graph":
            core.compute(positions, types, edge_index, shifts)
        else:
            owner = np.arange(len(atoms))
            core.core.compute_exchanged(positions, types, edge_index, shifts, len(atoms), owner)


def test_out_of_memory_names_atoms_edges_and_estimate(model_path):
    """A process whose address space is capped a little above what it holds at start."""
    script = textwrap.dedent(
        f"""
        import resource, sys
        import numpy as np
        from hermnet.export import load_core
        from tests.model.helpers import alloy
        core = load_core({str(model_path)!r})
        atoms = alloy(n_repeat=10, seed=1)
        with open("/proc/self/status") as f:
            vm = [int(l.split()[1]) for l in f if l.startswith("VmSize")][0] * 1024
        resource.setrlimit(resource.RLIMIT_AS, (vm + 150 * 2**20, resource.RLIM_INFINITY))
        try:
            core.evaluate(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
        except RuntimeError as err:
            print(err)
            sys.exit(3)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    message = proc.stdout
    assert "out of memory on cpu evaluating 4000 atoms (4000 local) and" in message
    assert "edges; this needs roughly" in message and "more ranks or GPUs" in message
