"""The message hop's radial filter: fused (hermnet::filter_message) against the batched
product it replaces (padded bmm per relation, then hermnet::edge_message), forward and
backward, on the edges of the benchmark alloy.

Graph: CoCrFeNi (bench/alloy.py), vertex relations (the center's element), edges sorted by
center as the model builds them; F = 128 and 31 basis columns (30 functions and the cutoff)
as in the default model; float32; random values (speed does not depend on them). Both
paths get the gradients an engine needs for forces: phi, basis, v and unit vectors.

    .venv/bin/python bench/filter_op.py [--repeat 6] [--threads 1] [--reps 7]
Results: bench/results/filter_op[_TAG].json (median ms per call of each path, and their ratio).
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.alloy import ELEMENTS, cocrfeni  # noqa: E402
from bench.cpp_vs_python import timed  # noqa: E402
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def inputs(repeat: int, features: int, basis: int):
    import hermnet._core as core

    atoms = cocrfeni(repeat)
    edge_index, _, _ = core.neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 5.0)
    center, neighbor = (torch.as_tensor(np.asarray(x), dtype=torch.long) for x in edge_index)
    types = torch.tensor([ELEMENTS.index(s) for s in atoms.get_chemical_symbols()])
    n, edges, gen = len(atoms), center.numel(), torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=gen).requires_grad_()

    return {
        "phi": rand(n, 3 * features),
        "p": neighbor,  # vertex: one slot per atom, read by its neighbors
        "basis": rand(edges, basis),
        "rel": types[center],
        "weight": torch.randn(len(ELEMENTS), basis, 3 * features, generator=gen),
        "v": rand(n, 3, features),
        "unit": rand(edges, 3),
        "center": center,
        "neighbor": neighbor,
        "rows": n,
    }


def fused(x):
    return torch.ops.hermnet.filter_message(
        x["phi"], x["p"], x["basis"], x["rel"], x["weight"], x["v"], x["unit"],
        x["center"], x["neighbor"], x["rows"],
    )  # fmt: skip


def batched(x):
    """What exported models did before filter_message (HermConv.radial_message_chain)."""
    from hermnet.nn.grouped import group_layout, to_padded

    flat, capacity = group_layout(x["rel"], x["weight"].shape[0])
    radial = to_padded(x["basis"], flat, x["weight"].shape[0], int(capacity))
    filt = torch.bmm(radial, x["weight"]).view(-1, x["weight"].shape[2])
    return torch.ops.hermnet.edge_message(
        x["phi"], x["p"], filt, flat, x["v"], x["unit"], x["center"], x["neighbor"], x["rows"]
    )


def time_path(path, x, reps: int) -> list[float]:
    wrt = (x["phi"], x["basis"], x["v"], x["unit"])

    def step():
        out = path(x)
        torch.autograd.grad(out, wrt, (torch.ones_like(out[0]), torch.ones_like(out[1])))

    return timed(step, reps, warmup=1)["samples"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=6, help="cell: 4 repeat^3 atoms")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--features", type=int, default=128)
    parser.add_argument("--basis", type=int, default=31, help="basis columns (l + 1)")
    parser.add_argument("--tag", default="", help="suffix of the results file")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    import hermnet._core as core

    heap = core.keep_host_heap()  # as the core does for CPU models
    x = inputs(opts.repeat, opts.features, opts.basis)
    with torch.no_grad():
        got, want = fused(x), batched(x)
    pairs = zip(got, want, strict=True)
    agree = max(float((g - w).abs().max() / w.abs().max()) for g, w in pairs)
    results = {
        "command": "python bench/filter_op.py " + " ".join(sys.argv[1:]),
        "machine": platform.platform(),
        "torch": torch.__version__,
        "threads": opts.threads,
        "host_heap": heap,
        "atoms": x["rows"],
        "edges": int(x["center"].numel()),
        "features": opts.features,
        "basis_columns": opts.basis,
        "max_relative_difference": agree,
    }
    # Interleaved, so that both paths see the same machine load.
    samples = {"fused": [], "batched": []}
    for _ in range(3):
        for name, path in (("fused", fused), ("batched", batched)):
            samples[name] += time_path(path, x, opts.reps)
    for name, times in samples.items():
        results[f"{name}_ms"] = 1000 * float(np.median(times))
    results["speedup"] = results["batched_ms"] / results["fused_ms"]
    print({k: results[k] for k in ("edges", "fused_ms", "batched_ms", "speedup")})
    write_json(RESULTS / f"filter_op{'_' + opts.tag if opts.tag else ''}.json", results)


if __name__ == "__main__":
    main()
