"""Time per evaluation: C++ core (pybind11) versus the Python module, same model and graph.

Paths, each on identical inputs (edges from hermnet.data.build_graph), energy + forces +
virial, after warm-up calls (TorchScript's profiling executor needs 2-3):
  python_eager        HermNetPotential (the training module)
  python_torchscript  the exported file loaded in Python (torch.jit.load)
  cpp_core            the exported file through hermnet._core (numpy in, numpy out)
plus the neighbor list: vesin (hermnet.data.build_graph) versus the C++ cell list.
Writes bench/results/cpp_vs_python.json.

    .venv/bin/python bench/cpp_vs_python.py            # default-size model (F=128, L=4)
    .venv/bin/python bench/cpp_vs_python.py --quick    # small model, smoke test
"""

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ELEMENTS = ["Co", "Cr", "Fe", "Ni"]  # the 4-element alloy


def structures():
    from ase.build import bulk, molecule

    mol = molecule("CH3CH2OH")
    mol.set_chemical_symbols(["Co", "Cr", "Fe", "Ni", "Co", "Cr", "Fe", "Ni", "Co"])
    atoms = bulk("Ni", "fcc", a=3.56, cubic=True).repeat(10)  # 4000 atoms
    rng = np.random.default_rng(0)
    atoms.set_chemical_symbols(rng.choice(ELEMENTS, size=len(atoms)))
    atoms.rattle(0.05, seed=0)
    return {"molecule-9": mol, "alloy-4000": atoms}


def timed(fn, repeats: int, warmup: int) -> dict:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return {"median_s": statistics.median(samples), "min_s": min(samples), "samples": samples}


def run_case(atoms, potential, script, core, cutoff: float, dtype) -> dict:
    from hermnet.data.neighbors import build_graph
    from hermnet.export.core import neighbor_list

    big = len(atoms) > 1000
    repeats, warmup = (3, 3) if big else (20, 5)
    pos, cell, pbc = atoms.positions, atoms.cell.array, atoms.pbc
    edge_index, edge_shift = build_graph(pos, cell, pbc, cutoff)
    types = script.types(atoms.numbers)
    tensors = (
        torch.tensor(pos, dtype=dtype),
        torch.as_tensor(types),
        torch.as_tensor(edge_index),
        torch.tensor(edge_shift, dtype=dtype),
        torch.zeros(len(atoms), dtype=torch.long),
        1,
    )
    case = {"atoms": len(atoms), "edges": int(edge_index.shape[1])}
    case["python_eager"] = timed(lambda: potential(*tensors, compute_virial=True), repeats, warmup)
    case["python_torchscript"] = timed(
        lambda: script.compute(pos, types, edge_index, edge_shift, compute_virial=True),
        repeats,
        warmup,
    )
    case["cpp_core"] = timed(
        lambda: core.compute(pos, types, edge_index, edge_shift, compute_virial=True),
        repeats,
        warmup,
    )
    case["neighbor_list_vesin"] = timed(lambda: build_graph(pos, cell, pbc, cutoff), 5, 1)
    case["neighbor_list_cpp"] = timed(lambda: neighbor_list(pos, cell, pbc, cutoff), 5, 1)
    case["speedup_cpp_vs_eager"] = case["python_eager"]["median_s"] / case["cpp_core"]["median_s"]
    case["speedup_cpp_vs_torchscript"] = (
        case["python_torchscript"]["median_s"] / case["cpp_core"]["median_s"]
    )
    return case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads for every path (default 1: on a shared 2-core machine "
        "more threads wait on each other and dominate small systems)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from hermnet.data.structure import Structure
    from hermnet.export import export_potential, load_core, load_exported
    from hermnet.model import ModelConfig, build_model

    size = dict(features=32, radial_basis=8, layers=2) if args.quick else {}
    config = ModelConfig(elements=ELEMENTS, variant="vertex", dtype=args.dtype, **size)
    torch.manual_seed(0)
    potential = build_model(config).eval()
    systems = structures()
    mol = systems["molecule-9"]
    frame = Structure(numbers=mol.numbers, positions=mol.positions, source="bench molecule")
    path = Path(tempfile.mkdtemp()) / "model.pt"
    export_potential(potential, config, path, frame)
    script, core = load_exported(path), load_core(path)
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.dtype]

    results = {
        "machine": platform.platform(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "model": config.to_dict(),
        "num_parameters": sum(p.numel() for p in potential.parameters()),
        "cases": {},
    }
    for name, atoms in systems.items():
        case = run_case(atoms, potential, script, core, config.cutoff, dtype)
        results["cases"][name] = case
        print(
            f"{name:>12}: eager {case['python_eager']['median_s'] * 1e3:9.2f} ms  torchscript "
            f"{case['python_torchscript']['median_s'] * 1e3:9.2f} ms  C++ "
            f"{case['cpp_core']['median_s'] * 1e3:9.2f} ms  | neighbor list vesin "
            f"{case['neighbor_list_vesin']['median_s'] * 1e3:.2f} ms, C++ "
            f"{case['neighbor_list_cpp']['median_s'] * 1e3:.2f} ms"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("cpp_vs_python_quick.json" if args.quick else "cpp_vs_python.json")
    write_json(out, results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
