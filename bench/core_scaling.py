"""Cost per atom-step and memory per atom versus system size, through the C++ core.

Structure: CoCrFeNi fcc (bench/alloy.py: a = 3.56 Å, repeat^3 cubic cells, 4 repeat^3 atoms,
random species, 0.05 Å rattle), periodic. Model: untrained HermNet of the default
architecture (F = 128, L = 4, r_c = 5 Å, 30 radial functions), exported as float32; speed and
memory do not depend on the weights. Each call computes energy, forces and virial, the C++
neighbor list included (what one MD step asks of the model).

Modes: `whole` evaluates the whole graph in one autograd pass; `chunked` sets
Model.chunk_edges (Model::set_chunk_edges): hop by hop over spatially compact chunks of at
most that many edges, recomputing each chunk in the backward pass.

Each case runs in its own process, so its memory is its own: memory per atom = (peak RSS
during the calls - RSS before them) / atoms on CPU, torch.cuda.max_memory_allocated / atoms
on a GPU. Cases whose projected memory exceeds --memory-gib are skipped and listed.

    .venv/bin/python bench/core_scaling.py                       # CPU, 1 thread, sweep
    .venv/bin/python bench/core_scaling.py --device cuda --repeats 10 20 40 63 --chunk-edges 1000000
Results: bench/results/core_scaling[_TAG].json and .png.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.alloy import cocrfeni, export_untrained  # noqa: E402
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DEFAULT_MODEL = dict(features=128, radial_basis=30, layers=4, cutoff=5.0)
# Whole-graph memory per atom of the default model on this alloy (float32, CPU, measured:
# ~0.67 MB with the fused edge operators, ~3.4 MB without), used only to skip cases that
# cannot fit.
WHOLE_BYTES_PER_ATOM = {True: 0.75e6, False: 3.6e6}


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(model: str, repeat: int, chunk_edges: int, calls: int, threads: int, device: str):
    """One case in this process; prints one JSON line."""
    import torch

    from hermnet.export import load_core
    from hermnet.export.core import neighbor_list

    torch.set_num_threads(threads)
    core = load_core(model, device)
    core.core.chunk_edges = chunk_edges
    atoms = cocrfeni(repeat)
    args = (atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
    cuda = device.startswith("cuda")
    before = rss_mib()
    samples = []
    for _ in range(calls + 1):  # the first call warms up (allocator, TorchScript)
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = core.evaluate(*args, compute_virial=True)
        if cuda:
            torch.cuda.synchronize()
        samples.append(time.perf_counter() - start)
    assert np.isfinite(out["forces"]).all()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    memory = (torch.cuda.max_memory_allocated() / 2**20) if cuda else peak - before
    timed = samples[1:]
    edges = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, core.cutoff)[0].shape[1]
    result = {
        "atoms": len(atoms),
        "edges": edges,
        "chunk_edges": chunk_edges,
        "warmup_s": samples[0],
        "samples_s": timed,
        "median_s": float(np.median(timed)),
        "us_per_atom_step": 1e6 * float(np.median(timed)) / len(atoms),
        "atom_steps_per_s": len(atoms) / float(np.median(timed)),
        "memory_mib": memory,
        "memory_kib_per_atom": 1024 * memory / len(atoms),
        "memory_measure": "cuda max_memory_allocated" if cuda else "peak RSS - RSS before",
        "energy": float(np.asarray(out["energy"]).reshape(-1)[0]),
    }
    print("RESULT " + json.dumps(result), flush=True)


def run_case(model: Path, repeat: int, chunk_edges: int, opts) -> dict:
    cmd = [sys.executable, __file__, "--worker", str(model), str(repeat), str(chunk_edges)]
    cmd += ["--calls", str(opts.calls), "--threads", str(opts.threads), "--device", opts.device]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-5:])
        return {"repeat": repeat, "chunk_edges": chunk_edges, "error": tail}
    return json.loads(lines[-1][len("RESULT ") :])


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, cases in results["series"].items():
        ok = [c for c in cases if "error" not in c]
        if not ok:
            continue
        x = [c["atoms"] for c in ok]
        ax_t.plot(x, [c["us_per_atom_step"] for c in ok], "o-", label=name)
        ax_m.plot(x, [c["memory_kib_per_atom"] for c in ok], "o-", label=name)
    ax_t.set(xscale="log", xlabel="atoms", ylabel="µs per atom-step", title="cost per atom")
    ax_m.set(xscale="log", yscale="log", xlabel="atoms", ylabel="KiB per atom")
    ax_m.set_title("memory per atom")
    for ax in (ax_t, ax_m):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"HermNet C++ core, CoCrFeNi, {results['meta']['device_name']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=3, metavar=("MODEL", "REPEAT", "CHUNK"))
    parser.add_argument("--variants", nargs="+", default=["vertex"])
    parser.add_argument("--repeats", nargs="+", type=int, default=[4, 6, 8, 10, 13, 16])
    parser.add_argument("--chunk-edges", type=int, default=20000, help="chunked mode's size")
    parser.add_argument("--sweep-repeat", type=int, default=10, help="cell of the chunk sweep")
    parser.add_argument("--sweep", nargs="*", type=int, default=[5000, 10000, 40000, 160000])
    parser.add_argument("--memory-gib", type=float, default=12.0, help="skip larger cases")
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tag", default="")
    parser.add_argument("--unfused", action="store_true", help="export without fused operators")
    opts = parser.parse_args()
    if opts.worker:
        model, repeat, chunk = opts.worker
        worker(model, int(repeat), int(chunk), opts.calls, opts.threads, opts.device)
        return

    import torch

    device_name = platform.processor() or platform.machine()
    if opts.device.startswith("cuda"):
        device_name = torch.cuda.get_device_name(0)
    results = {
        "meta": {
            "command": "python bench/core_scaling.py " + " ".join(sys.argv[1:]),
            "machine": platform.platform(),
            "device": opts.device,
            "device_name": device_name,
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "threads": opts.threads,
            "model": {**DEFAULT_MODEL, "dtype": "float32"},
            "fused_edges": not opts.unfused,
            "structure": "CoCrFeNi fcc a=3.56 Å, 4 repeat^3 atoms, periodic, rattle 0.05 Å",
        },
        "series": {},
        "chunk_sweep": [],
        "skipped": [],
    }
    out_name = "core_scaling" + (f"_{opts.tag}" if opts.tag else "")
    with tempfile.TemporaryDirectory() as tmp:
        for variant in opts.variants:
            model = Path(tmp) / f"{variant}.pt"
            results["meta"][f"parameters_{variant}"] = export_untrained(
                model, variant, fused=not opts.unfused, **DEFAULT_MODEL
            )["num_parameters"]
            for mode, chunk in (("whole", 0), ("chunked", opts.chunk_edges)):
                series = results["series"].setdefault(f"{variant} {mode}", [])
                for repeat in opts.repeats:
                    atoms = 4 * repeat**3
                    projected = atoms * WHOLE_BYTES_PER_ATOM[not opts.unfused]
                    if mode == "whole" and projected > opts.memory_gib * 2**30:
                        results["skipped"].append(f"{variant} whole {atoms} atoms (memory)")
                        continue
                    case = run_case(model, repeat, chunk, opts)
                    series.append(case)
                    print(f"{variant:6s} {mode:7s} {json.dumps(case)[:160]}", flush=True)
            if variant == opts.variants[0]:
                for chunk in opts.sweep:
                    case = run_case(model, opts.sweep_repeat, chunk, opts)
                    results["chunk_sweep"].append({"variant": variant, **case})
                    print(f"sweep {chunk}: {json.dumps(case)[:160]}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{out_name}.json"
    write_json(path, results)
    plot(results, RESULTS / f"{out_name}.png")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
