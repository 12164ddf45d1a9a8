"""What each relation block costs: inference per atom-step and a training step, one run.

The accuracy-cost front needs the cost of every candidate block measured side by side on
the same machine and thread count (issue: a stronger relation sub-network). Two costs:
  inference: energy + forces of a 4,000-atom CoCrFeNi cell through the C++ core (the fused
             exported model LAMMPS runs), microseconds per atom-step;
  training:  one `hermnet train` step (forward with forces, loss, double backward, clip,
             AdamW) on rMD17 ethanol with the accuracy config's batch size, milliseconds.
Candidates run interleaved, repeat by repeat, so a load change hits all of them alike;
the ratio to the published block (hermconv) is what to read.

    .venv/bin/python bench/block_cost.py [--repeats 5] [--threads 1]
Results: bench/results/block_cost.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.accuracy.run import hardware  # noqa: E402
from bench.alloy import cocrfeni, export_untrained  # noqa: E402
from bench.results_io import write_json  # noqa: E402
from bench.train_step import case_config  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "block_cost.json"
# The benchmark-size model (F = 64, L = 3, 8 sine functions) with each block.
SIZE = {"features": 64, "layers": 3, "radial_basis": 8}
CANDIDATES = {
    "hermconv": {"block": "hermconv"},
    "painn": {"block": "painn"},
    "painn_mlp16": {"block": "painn", "radial_mlp": 16},
    "painn_L4": {"block": "painn", "layers": 4},
    "painn2": {"block": "painn2"},
    "painn2v": {"block": "painn2v"},
    "tensor": {"block": "tensor"},
}


def inference_timer(folder: Path, name: str, options: dict, repeat: int):
    from hermnet.export import load_core

    path = folder / f"{name}.pt"
    export_untrained(path, **{**SIZE, **options})
    core = load_core(path)
    atoms = cocrfeni(repeat)
    args = (atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
    core.evaluate(*args)  # warm-up: allocator, TorchScript profiling runs
    core.evaluate(*args)

    def once() -> float:
        start = time.perf_counter()
        core.evaluate(*args)
        return 1e6 * (time.perf_counter() - start) / len(atoms)

    return once


def training_timer(options: dict, steps: int):
    from torch.utils.data import DataLoader

    from hermnet.data.batch import collate
    from hermnet.model import ModelConfig, build_model
    from hermnet.train.data import load_training_data
    from hermnet.train.evaluation import predict
    from hermnet.train.loss import LossWeights, compute_loss
    from hermnet.train.optim import make_optimizer

    config = case_config("rmd17_ethanol")
    model_config = ModelConfig(**{**config.model.to_dict(), **options})
    opts = config.training
    data = load_training_data(config, getattr(torch, model_config.dtype))
    loader = DataLoader(data.train, batch_size=opts.batch_size, shuffle=False, collate_fn=collate)
    batches = [b for _, b in zip(range(steps), loader, strict=False)]
    weights = LossWeights(opts.energy_weight, opts.force_weight, opts.stress_weight)
    torch.manual_seed(0)
    potential = build_model(model_config).train()
    params = [p for p in potential.parameters() if p.requires_grad]
    optimizer = make_optimizer(opts.optimizer, params, opts.learning_rate, opts.weight_decay)

    def once() -> float:
        start = time.perf_counter()
        for batch in batches:
            out = predict(potential, batch, with_stress=False, training=True)
            loss = compute_loss(out, batch, weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, opts.grad_clip or float("inf"))
            optimizer.step()
        return 1e3 * (time.perf_counter() - start) / len(batches)

    once()  # warm-up
    return once, sum(p.numel() for p in params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per candidate")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--repeat-cells", type=int, default=10, help="4 n^3 atoms (10: 4,000)")
    parser.add_argument("--steps", type=int, default=30, help="training batches per round")
    parser.add_argument("--candidate", action="append", choices=sorted(CANDIDATES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = args.candidate or list(CANDIDATES)
    with tempfile.TemporaryDirectory() as tmp:
        infer = {n: inference_timer(Path(tmp), n, CANDIDATES[n], args.repeat_cells) for n in names}
        train = {n: training_timer(CANDIDATES[n], args.steps) for n in names}
        samples = {n: {"inference_us_per_atom": [], "train_step_ms": []} for n in names}
        for _ in range(args.repeats):
            for n in names:
                samples[n]["inference_us_per_atom"].append(infer[n]())
                samples[n]["train_step_ms"].append(train[n][0]())
    rows = []
    for n in names:
        median = {key: statistics.median(values) for key, values in samples[n].items()}
        rows.append(
            {
                "candidate": n,
                "options": {**SIZE, **CANDIDATES[n]},
                "parameters_ethanol": train[n][1],
                **median,
                "samples": samples[n],
            }
        )
    base = rows[0]
    for row in rows:
        row["inference_ratio"] = row["inference_us_per_atom"] / base["inference_us_per_atom"]
        row["train_ratio"] = row["train_step_ms"] / base["train_step_ms"]
        print(
            f"{row['candidate']:12s} inference {row['inference_us_per_atom']:7.1f} µs/atom "
            f"({row['inference_ratio']:.2f}x)  train step {row['train_step_ms']:6.1f} ms "
            f"({row['train_ratio']:.2f}x)  {row['parameters_ethanol']} parameters (ethanol)"
        )
    write_json(
        RESULTS,
        {
            "hardware": hardware(),
            "threads": args.threads,
            "atoms": 4 * args.repeat_cells**3,
            "system": "CoCrFeNi fcc (inference), rMD17 ethanol batches (training)",
            "rows": rows,
        },
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
