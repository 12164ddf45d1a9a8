"""Where a step's time goes: torch.profiler over the exported model (the graph the C++ core
and LAMMPS run), energy + forces + virial, on the benchmark alloy.

Ops are grouped into matrix products (what the roofline counts), gathers/scatters (index
ops), the fused edge operators (hermnet::*, forward and backward), and elementwise
arithmetic, so the report says which kind of work dominates.

    .venv/bin/python bench/profile_model.py [--repeat 6] [--threads 1] [--device cpu]
    .venv/bin/python bench/profile_model.py --unfused --tag unfused   # torch operator chains
Results: bench/results/profile_model[_TAG].json (top ops by self time, and the groups).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.alloy import cocrfeni, export_untrained  # noqa: E402
from bench.core_scaling import DEFAULT_MODEL  # noqa: E402
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results"
FUSED_NODES = ("FilterMessage", "EdgeMessage", "VectorMessage", "GatherScaleAdd")
MATMUL = {"aten::mm", "aten::bmm", "aten::baddbmm", "aten::addmm", "aten::matmul"}
INDEX = {
    "aten::index_select",
    "aten::index_add",
    "aten::index_add_",
    "aten::index_copy",
    "aten::index",
    "aten::index_put_",
    "aten::scatter_add_",
    "aten::gather",
    "aten::embedding_dense_backward",
    "aten::index_select_backward",
}


def kind(name: str) -> str:
    if name.startswith("hermnet::") or any(op in name for op in FUSED_NODES):
        return "fused edge operators"
    if name in MATMUL:
        return "matrix products"
    if name in INDEX:
        return "gathers and scatters"
    return "elementwise and other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=6, help="cell: 4 repeat^3 atoms")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--tag", default="")
    parser.add_argument("--unfused", action="store_true", help="export without fused operators")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)

    from hermnet.export import load_exported

    heap = "n/a (GPU)"
    if opts.device == "cpu":  # as the C++ core does for CPU models (cpp/src/host_heap.cpp)
        from hermnet._core import keep_host_heap

        heap = keep_host_heap()
    atoms = cocrfeni(opts.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.pt"
        export_untrained(path, "vertex", fused=not opts.unfused, **DEFAULT_MODEL)
        model = load_exported(path, device=opts.device)
        args = (atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
        model.evaluate(*args, compute_virial=True)  # warm-up
        activities = [torch.profiler.ProfilerActivity.CPU]
        if opts.device.startswith("cuda"):
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        with torch.profiler.profile(activities=activities) as prof:
            model.evaluate(*args, compute_virial=True)
    cuda = opts.device.startswith("cuda")
    events = prof.key_averages()
    total = sum((e.self_device_time_total if cuda else e.self_cpu_time_total) for e in events)
    rows, groups = [], defaultdict(float)
    for e in events:
        self_us = e.self_device_time_total if cuda else e.self_cpu_time_total
        groups[kind(e.key)] += self_us
        rows.append({"op": e.key, "calls": e.count, "self_ms": self_us / 1000})
    rows.sort(key=lambda r: -r["self_ms"])
    for r in rows:
        r["share"] = r["self_ms"] * 1000 / total
    result = {
        "command": "python bench/profile_model.py " + " ".join(sys.argv[1:]),
        "machine": platform.platform(),
        "device": opts.device,
        "torch": torch.__version__,
        "threads": opts.threads,
        "atoms": len(atoms),
        "model": {**DEFAULT_MODEL, "variant": "vertex", "dtype": "float32"},
        "fused_edges": not opts.unfused,
        "host_heap": heap,
        "total_self_ms": total / 1000,
        "groups": {k: {"ms": v / 1000, "share": v / total} for k, v in groups.items()},
        "top_ops": rows[: opts.top],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("profile_model" + (f"_{opts.tag}" if opts.tag else "") + ".json")
    write_json(out, result)
    print(f"{len(atoms)} atoms, {total / 1000:.0f} ms self time")
    for name, g in sorted(result["groups"].items(), key=lambda x: -x[1]["ms"]):
        print(f"  {name:24s} {g['ms']:9.1f} ms  {100 * g['share']:5.1f} %")
    for r in rows[: opts.top]:
        print(f"  {r['op']:36s} {r['calls']:6d} {r['self_ms']:9.1f} ms {100 * r['share']:5.1f} %")


if __name__ == "__main__":
    main()
