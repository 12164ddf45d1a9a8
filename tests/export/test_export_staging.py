"""GPU input staging (two pinned blocks, one copy each) gives the borrowed inputs' results.

On a GPU the core always stages; HERMNET_STAGE_INPUTS=1 runs the same packing on the CPU so
that it is tested without one. Same arithmetic, so float64 results agree exactly.
"""

import numpy as np
import pytest

from hermnet.export import load_core
from tests.export.export_helpers import export_tiny, graph
from tests.export.test_export_chunked import FLAGS
from tests.export.test_export_hops import STRUCTURES


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_staged_inputs_equal_borrowed_inputs(tmp_path, monkeypatch, dtype):
    export_tiny("pair", tmp_path / "m.pt", dtype=dtype)
    core = load_core(tmp_path / "m.pt").core
    runs = []
    for atoms in (STRUCTURES["alloy"](), STRUCTURES["thin"](), STRUCTURES["alloy"]()[:6]):
        types, edge_index, edge_shift = graph(atoms, core.cutoff)
        args = (atoms.positions, types, edge_index, edge_shift)
        monkeypatch.delenv("HERMNET_STAGE_INPUTS", raising=False)
        borrowed = core.compute(*args, **FLAGS)
        monkeypatch.setenv("HERMNET_STAGE_INPUTS", "1")
        staged = core.compute(*args, **FLAGS)  # buffers grow, then are reused smaller
        for key, value in borrowed.items():
            np.testing.assert_array_equal(np.asarray(staged[key]), np.asarray(value), key)
        runs.append(staged)
    assert len(runs) == 3
