"""The CUDA paths against the CPU: the C++ core (whole graph, chunked, ghost exchange, input
staging), float32 and TF32 models, LAMMPS with `device cuda` on 1 and 2 ranks, and training.

Skipped without a CUDA GPU. HERMNET_TEST_DEVICE=cpu runs the same comparisons with the CPU
on both sides, which checks the tests themselves on a machine without a GPU.

Tolerances: float64 on the GPU differs from the CPU only in summation order (1e-10 of each
quantity's scale). float32 against float64: ~1e-7 relative rounding per operation, grown
by the 4-layer network and by cancellation in the sums over neighbors, so 1e-4 of the scale.
TF32 keeps a 10-bit mantissa in the matrix products (~1e-3 relative each): 1e-2.
"""

import os

import numpy as np
import pytest
import torch

from hermnet.export import keys, load_core, load_exported
from tests.export.export_helpers import export_tiny, graph, max_relative
from tests.export.test_export_hops import STRUCTURES, ghost_domain
from tests.lammps.lammps_helpers import assert_close, pair_lines, run0, structure
from tests.model.helpers import ELEMENTS

DEVICE = os.environ.get("HERMNET_TEST_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(
    DEVICE.startswith("cuda") and not torch.cuda.is_available(), reason="needs a CUDA GPU"
)
FLAGS = dict(compute_virial=True, compute_atomic_virial=True)
OUTPUTS = ("energy", "forces", "atomic_energy", "virial", "atomic_virial")


def compare(got, expected, rtol):
    for key in keys.OUTPUTS:
        err = max_relative(np.asarray(got[key]), np.asarray(expected[key]))
        assert err < rtol, f"{key}: {err:.3g}"


@pytest.mark.parametrize(
    "variant", ["vertex", "pair", "triad", "vertex-painn", "triad-painn2", "vertex-painn2v"]
)
def test_core_on_the_gpu_equals_the_cpu(tmp_path, variant):
    export_tiny(variant, tmp_path / "m.pt")
    cpu, gpu = load_core(tmp_path / "m.pt", "cpu").core, load_core(tmp_path / "m.pt", DEVICE).core
    atoms = STRUCTURES["alloy"]()
    args = (atoms.positions, *graph(atoms, cpu.cutoff))
    expected = cpu.compute(*args, **FLAGS)
    compare(gpu.compute(*args, **FLAGS), expected, 1e-10)
    gpu.chunk_edges = 60
    compare(gpu.compute(*args, **FLAGS), expected, 1e-10)
    domain = ghost_domain(atoms, cpu.cutoff)
    exchanged = [np.asarray(domain[k]) for k in ("positions", "types", "edge_index", "edge_shift")]
    owner = domain["owner"].numpy()
    gpu.chunk_edges = 0
    reference = cpu.compute_exchanged(*exchanged, domain["n_local"], owner, **FLAGS)
    compare(gpu.compute_exchanged(*exchanged, domain["n_local"], owner, **FLAGS), reference, 1e-10)


@pytest.mark.parametrize(("tf32", "rtol"), [(False, 1e-4), (True, 1e-2)])
def test_float32_and_tf32_on_the_gpu(tmp_path, tf32, rtol):
    export_tiny("pair", tmp_path / "f64.pt")
    export_tiny("pair", tmp_path / "f32.pt", dtype="float32", tf32=tf32)
    atoms = STRUCTURES["alloy"]()
    reference = load_core(tmp_path / "f64.pt", "cpu").core
    args = (atoms.positions, *graph(atoms, reference.cutoff))
    got = load_core(tmp_path / "f32.pt", DEVICE).core.compute(*args, **FLAGS)
    compare(got, reference.compute(*args, **FLAGS), rtol)


def test_torchscript_module_on_the_gpu(tmp_path):
    export_tiny("vertex", tmp_path / "m.pt")
    atoms = STRUCTURES["triclinic"]()
    args = (atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
    expected = load_exported(tmp_path / "m.pt").evaluate(*args, **FLAGS)
    got = load_exported(tmp_path / "m.pt", device=DEVICE).evaluate(*args, **FLAGS)
    compare({k: v.cpu() for k, v in got.items()}, expected, 1e-10)


@pytest.mark.parametrize("nprocs", [1, 2])
def test_lammps_device_cuda_equals_the_cpu(tmp_path, plugin, nprocs):
    export_tiny("triad", tmp_path / "m.pt")
    atoms = structure("alloy")
    cpu = run0(tmp_path / "cpu", atoms, pair_lines(tmp_path / "m.pt", ELEMENTS))
    device = "cuda" if DEVICE.startswith("cuda") else "cpu"
    pair = pair_lines(tmp_path / "m.pt", ELEMENTS, f"device {device} chunk 200")
    gpu = run0(tmp_path / "gpu", atoms, pair, nprocs=nprocs)
    if device == "cuda":
        assert "device cuda:0" in gpu["run"].output
    assert_close(gpu, cpu, OUTPUTS, rtol=1e-10)


def test_training_on_the_gpu(tmp_path, ethanol_file):
    from hermnet.train import train
    from tests.train.conftest import tiny_config, write_config

    config = write_config(tmp_path, tiny_config(ethanol_file, epochs=2, device=DEVICE))
    result = train(config)
    assert result.finished and np.isfinite(result.best_metric)
