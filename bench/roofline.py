"""How close the model runs to the device's matrix-multiply rate (the roofline).

1. The device's measured matmul rate: the best GFLOP/s of torch.mm over square and
   model-shaped products (rows x F times F x 3F) in the model dtype.
2. The model's dense work per step: torch.utils.flop_counter.FlopCounterMode counts the
   matrix products (mm, bmm, baddbmm, addmm) of one energy + forces + virial pass of the
   Python model, backward included. Elementwise work (gathers, scatters, the per-edge
   products) is not counted: it is memory-bound and is what keeps the model below the line.
3. The achieved rate: those FLOPs divided by the C++ core's measured time per step on the
   same graph (the LAMMPS path runs the same core), whole-graph and chunked.

    .venv/bin/python bench/roofline.py [--repeat 8] [--threads 1] [--device cpu]
Results: bench/results/roofline[_TAG].json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.alloy import ELEMENTS, cocrfeni, export_untrained  # noqa: E402
from bench.core_scaling import DEFAULT_MODEL  # noqa: E402
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def mm_gflops(device: str, dtype: torch.dtype, m: int, k: int, n: int) -> float:
    """GFLOP/s of torch.mm on [m, k] x [k, n] (median of 5 after a warm-up)."""
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    torch.mm(a, b)
    times = []
    for _ in range(5):
        sync(device)
        start = time.perf_counter()
        torch.mm(a, b)
        sync(device)
        times.append(time.perf_counter() - start)
    return 2 * m * k * n / float(np.median(times)) / 1e9


def matmul_rate(device: str, dtype: torch.dtype, features: int, radial: int) -> dict:
    """Best GFLOP/s over a few shapes, and the rate of the model's own filter product
    (edges x (radial + 1) x 3F: most of its FLOPs, with a short inner dimension)."""
    shapes = [(2048, 2048, 2048), (8192, features, 3 * features), (8192, 2 * features, features)]
    if device.startswith("cuda"):
        shapes += [(16384, 16384, 16384), (262144, features, 3 * features)]
    rates = {f"{m}x{k}x{n}": mm_gflops(device, dtype, m, k, n) for m, k, n in shapes}
    filter_shape = (65536, radial + 1, 3 * features)
    return {
        "gflops_by_shape": rates,
        "best_gflops": max(rates.values()),
        "filter_product_shape": "x".join(map(str, filter_shape)),
        "filter_product_gflops": mm_gflops(device, dtype, *filter_shape),
    }


class MatmulFlops(TorchDispatchMode):
    """Counts FLOPs of the ops torch's flop_counter knows (matrix products), forward and
    backward. FlopCounterMode itself hooks modules in a way that breaks autograd.grad on
    leaves, which the force computation uses."""

    def __init__(self) -> None:
        super().__init__()
        self.by_op: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        if packet in flop_registry:
            self.by_op[str(packet)] += int(flop_registry[packet](*args, **kwargs, out_val=out))
        return out


def model_flops(potential, atoms) -> dict:
    """Matmul FLOPs of one energy + forces + virial pass of the eager Python model."""
    from hermnet.model.potential import evaluate_structure

    types = [ELEMENTS.index(s) for s in atoms.get_chemical_symbols()]
    with MatmulFlops() as counter:
        evaluate_structure(
            potential, atoms.positions, types, atoms.cell.array, atoms.pbc, compute_virial=True
        )
    return {"matmul_flops": sum(counter.by_op.values()), "by_op": dict(counter.by_op)}


def core_time(path: Path, atoms, chunk_edges: int, device: str, calls: int) -> float:
    from hermnet.export import load_core

    core = load_core(path, device)
    core.core.chunk_edges = chunk_edges
    args = (atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
    core.evaluate(*args, compute_virial=True)
    times = []
    for _ in range(calls):
        sync(device)
        start = time.perf_counter()
        core.evaluate(*args, compute_virial=True)
        sync(device)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=8, help="cell: 4 repeat^3 atoms")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--chunk-edges", type=int, default=20000)
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--tag", default="")
    parser.add_argument("--unfused", action="store_true", help="export without fused operators")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)

    from hermnet.model import ModelConfig, build_model

    atoms = cocrfeni(opts.repeat)
    config = ModelConfig(elements=ELEMENTS, variant="vertex", dtype="float32", **DEFAULT_MODEL)
    torch.manual_seed(0)
    potential = build_model(config).eval()
    flops = model_flops(potential, atoms)
    rate = matmul_rate(
        opts.device, torch.float32, DEFAULT_MODEL["features"], DEFAULT_MODEL["radial_basis"]
    )
    achieved = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.pt"
        export_untrained(path, "vertex", fused=not opts.unfused, **DEFAULT_MODEL)
        for mode, chunk in (("whole", 0), ("chunked", opts.chunk_edges)):
            seconds = core_time(path, atoms, chunk, opts.device, opts.calls)
            gflops = flops["matmul_flops"] / seconds / 1e9
            achieved[mode] = {
                "chunk_edges": chunk,
                "seconds_per_step": seconds,
                "achieved_gflops": gflops,
                "fraction_of_matmul_rate": gflops / rate["best_gflops"],
            }
            print(f"{mode}: {seconds:.3f} s/step, {gflops:.2f} GFLOP/s", flush=True)
    result = {
        "command": "python bench/roofline.py " + " ".join(sys.argv[1:]),
        "machine": platform.platform(),
        "device": opts.device,
        "device_name": torch.cuda.get_device_name(0)
        if opts.device.startswith("cuda")
        else platform.processor(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "threads": opts.threads,
        "atoms": len(atoms),
        "model": {**DEFAULT_MODEL, "variant": "vertex", "dtype": "float32"},
        "fused_edges": not opts.unfused,
        "matmul": rate,
        "model_flops_per_step": flops,
        "matmul_flops_per_atom_step": flops["matmul_flops"] / len(atoms),
        "achieved": achieved,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("roofline" + (f"_{opts.tag}" if opts.tag else "") + ".json")
    write_json(out, result)
    print(json.dumps({k: result[k] for k in ("matmul", "achieved")}, indent=1))


if __name__ == "__main__":
    main()
