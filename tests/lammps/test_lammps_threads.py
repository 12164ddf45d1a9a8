"""Threads inside a rank (OMP_NUM_THREADS): the same results as one thread, to 1e-10.

The fused kernels split a rank's edges between threads at center boundaries, so the
energy's forward pass is bit-identical; the backward adds per-thread partial sums on the
neighbor side and the dense layers' matrix products may block differently, so forces and
virials agree to rounding. The cell has enough edges (about 16,000) for two threads to
split them.
"""

import pytest

from hermnet.lammps.data import lammps_frame
from tests.lammps.lammps_helpers import assert_close, pair_lines, run0
from tests.model.helpers import ELEMENTS, alloy

OUTPUTS = ("energy", "forces", "atomic_energy", "virial", "atomic_virial")


@pytest.mark.parametrize("kind", ["vertex-painn", "vertex"])
def test_two_threads_per_rank_give_one_threads_results(tmp_path, models, kind):
    atoms = lammps_frame(alloy(n_repeat=7, seed=2))
    pair = pair_lines(models[kind], ELEMENTS)
    one = run0(tmp_path / "1x1", atoms, pair, threads=1)
    assert "HermNet: 1 thread(s) per rank" in one["run"].output
    for ranks in (1, 2):
        run = run0(tmp_path / f"{ranks}x2", atoms, pair, nprocs=ranks, threads=2)
        assert (
            "HermNet: 2 thread(s) per rank for the model (OMP_NUM_THREADS=2)" in run["run"].output
        )
        assert_close(run, one, OUTPUTS, rtol=1e-10)
