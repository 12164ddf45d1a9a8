"""Training throughput, evaluation cost and peak memory of each variant (issue: Python package).

Each case runs in its own subprocess so that its peak resident memory is its own.
Results: bench/results/model_speed.json (and a printed table).

    .venv/bin/python bench/model_speed.py            # full default model, all cases
    .venv/bin/python bench/model_speed.py --quick    # small model, for a smoke test
"""

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ALLOY4 = ["Co", "Cr", "Fe", "Ni"]
ALLOY6 = ["Co", "Cr", "Fe", "Ni", "Mn", "Cu"]


def make_structure(system: str):
    from ase.build import bulk, molecule

    if system == "aspirin":
        atoms = molecule("CH3COOH")  # replaced below by real aspirin geometry when available
        data = ROOT.parent / "shared" / "data" / "rmd17" / "rmd17_aspirin_train_01.npz"
        if data.exists():
            from ase import Atoms

            npz = np.load(data)
            atoms = Atoms(numbers=npz["nuclear_charges"], positions=npz["coords"][0])
        return atoms, ["H", "C", "O"]
    elements = ALLOY6 if system == "alloy6-500" else ALLOY4
    atoms = bulk("Ni", "fcc", a=3.56, cubic=True).repeat(5)  # 500 atoms
    rng = np.random.default_rng(0)
    atoms.set_chemical_symbols(rng.choice(elements, size=len(atoms)))
    atoms.rattle(0.05, seed=0)
    return atoms, elements


def run_case(variant: str, system: str, quick: bool, device: str = "cpu") -> dict:
    from hermnet.data.neighbors import build_graph
    from hermnet.model import ModelConfig, build_model

    torch.manual_seed(0)
    atoms, elements = make_structure(system)
    size = dict(features=32, radial_basis=8, layers=2) if quick else {}
    config = ModelConfig(elements=elements, variant=variant, dtype="float32", **size)
    potential = build_model(config).to(device)
    ei, sh = build_graph(atoms.positions, atoms.cell.array, atoms.pbc, config.cutoff)
    types = torch.tensor([elements.index(s) for s in atoms.get_chemical_symbols()])
    batch_size = 8 if system == "aspirin" else 1
    n = len(atoms)

    def batched(k: int):
        pos = torch.tensor(np.tile(atoms.positions, (k, 1)), dtype=torch.float32)
        offsets = torch.arange(k).repeat_interleave(ei.shape[1]) * n
        edge_index = torch.as_tensor(ei).repeat(1, k) + offsets
        shift = torch.as_tensor(sh, dtype=torch.float32).repeat(k, 1)
        batch = torch.arange(k).repeat_interleave(n)
        tensors = (pos, types.repeat(k), edge_index, shift, batch)
        return (*(t.to(device) for t in tensors), k)

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    # Evaluation: energy + forces of one structure.
    args = batched(1)
    potential.eval()
    for _ in range(2):
        potential(*args)
    repeats = 3 if system != "aspirin" else 20
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        potential(*args)
    sync()
    eval_s = (time.perf_counter() - start) / repeats

    # Training: forward, force loss with double backward, Adam step.
    potential.train()
    optimizer = torch.optim.Adam(potential.parameters(), lr=1e-4)
    targs = batched(batch_size)
    steps = 2 if system != "aspirin" else 10

    def step():
        out = potential(*targs, create_graph=True)
        loss = (out["energy"].float() ** 2).mean() * 1e-6 + (out["forces"] ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    train_s = (time.perf_counter() - start) / steps
    return {
        "variant": variant,
        "system": system,
        "atoms": n,
        "elements": elements,
        "edges": int(ei.shape[1]),
        "parameters": sum(p.numel() for p in potential.parameters()),
        "model": config.to_dict(),
        "eval_ms": eval_s * 1e3,
        "eval_us_per_atom": eval_s * 1e6 / n,
        "train_batch_size": batch_size,
        "train_structures_per_s": batch_size / train_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": device,
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20
        if device.startswith("cuda")
        else None,
    }


CASES = [(v, s) for s in ("aspirin", "alloy4-500") for v in ("vertex", "pair", "triad")]
CASES.append(("triad", "alloy6-500"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per case (1 gives stable numbers on a shared 2-core machine)",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--case", nargs=2, metavar=("VARIANT", "SYSTEM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.case:
        print(json.dumps(run_case(*args.case, quick=args.quick, device=args.device)))
        return
    rows = []
    for variant, system in CASES:
        cmd = [sys.executable, __file__, "--case", variant, system, "--threads", str(args.threads)]
        cmd += ["--quick"] if args.quick else []
        cmd += ["--device", args.device]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            rows.append({"variant": variant, "system": system, "error": proc.stderr[-2000:]})
            print(f"{variant:7s} {system:11s} FAILED: {proc.stderr.strip().splitlines()[-1]}")
            continue
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{variant:7s} {system:11s} atoms={row['atoms']:4d} params={row['parameters']:>10,d} "
            f"eval={row['eval_us_per_atom']:9.1f} us/atom  "
            f"train={row['train_structures_per_s']:8.2f} "
            f"struct/s  peak={row['peak_rss_mb']:8.0f} MB"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": platform.processor() or platform.machine(),
        "torch_threads": args.threads,
        "torch": torch.__version__,
        "quick": args.quick,
        "device": args.device,
        "device_name": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else None,
        "command": "python bench/model_speed.py " + " ".join(sys.argv[1:]),
    }
    name = "model_speed" + ("_quick" if args.quick else "")
    name += "" if args.device == "cpu" else "_" + args.device.replace(":", "")
    out = RESULTS / f"{name}.json"
    write_json(out, {"meta": meta, "results": rows})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
