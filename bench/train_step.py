"""Training step time on real data: the shipped step against the general form, one run.

A step is what `hermnet train` does per batch: forward with forces (create_graph), the
loss, the backward pass through the forces, gradient clipping and the optimizer step. Two
settings run interleaved in one process on the same model, batches and thread count, so
their ratio is fair on a noisy machine:
  general:  every layer takes the general form (second neighbor group and v_j * a_v
            everywhere) and torch's default (unfused) Adam
  shipped:  what `hermnet train` does now: the one-group update (vertex, pair), the first
            layer without v_j * a_v, fused Adam
Both compute the same values (tests/model, tests/train/test_optim.py).

Cases: the accuracy configs (bench/accuracy/configs) on rMD17 ethanol and aspirin and on
mlearn Si, with the config's batch size. Results: bench/results/train_step.json.

    .venv/bin/python bench/train_step.py [--steps 40] [--repeats 5] [--threads 1]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.accuracy.run import RMD17_ELEMENTS, hardware, load_template  # noqa: E402
from bench.results_io import write_json  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "train_step.json"
CASES = {
    "rmd17_ethanol": ("rmd17", {"molecule": "ethanol"}),
    "rmd17_aspirin": ("rmd17", {"molecule": "aspirin"}),
    "mlearn_Si": ("mlearn", {"element": "Si"}),
}


def case_config(name: str):
    from hermnet.train.config import TrainConfig

    template, fill = CASES[name]
    if "molecule" in fill:
        fill = {**fill, "elements": "[" + ", ".join(RMD17_ELEMENTS[fill["molecule"]]) + "]"}
    raw = load_template(template, **fill)
    raw["data"]["test"] = None  # not read: the benchmark only trains
    return TrainConfig.from_dict(raw, base_dir=ROOT, source=f"bench/train_step/{name}")


class Setting:
    """One way of running the step: layer shortcuts on or off, fused optimizer or not."""

    def __init__(self, potential, shortcuts: bool, fused: bool, opts) -> None:
        from hermnet.train.optim import make_optimizer

        self.potential = potential
        self.shortcuts = shortcuts
        params = [p for p in potential.parameters() if p.requires_grad]
        if fused:
            self.optimizer = make_optimizer(
                opts.optimizer, params, opts.learning_rate, opts.weight_decay
            )
        else:
            kind = torch.optim.AdamW if opts.optimizer == "adamw" else torch.optim.Adam
            self.optimizer = kind(params, lr=opts.learning_rate, weight_decay=opts.weight_decay)
        self.params = params

    def activate(self) -> None:
        layers = self.potential.model.layers
        for i, layer in enumerate(layers):
            layer.two_groups = (not self.shortcuts) or self.potential.model.relations.two_groups
            layer.zero_vectors_in = self.shortcuts and i == 0


def run_case(name: str, steps: int, repeats: int) -> dict:
    from torch.utils.data import DataLoader

    from hermnet.data.batch import collate
    from hermnet.model import build_model
    from hermnet.train.data import load_training_data
    from hermnet.train.evaluation import predict
    from hermnet.train.loss import LossWeights, compute_loss, needs_stress

    config = case_config(name)
    opts = config.training
    dtype = getattr(torch, config.model.dtype)
    data = load_training_data(config, dtype)
    loader = DataLoader(data.train, batch_size=opts.batch_size, shuffle=False, collate_fn=collate)
    batches = [b for _, b in zip(range(steps), loader, strict=False)]
    weights = LossWeights(opts.energy_weight, opts.force_weight, opts.stress_weight)
    torch.manual_seed(0)
    potential = build_model(config.model).train()
    settings = {
        "general": Setting(potential, shortcuts=False, fused=False, opts=opts),
        "shipped": Setting(potential, shortcuts=True, fused=True, opts=opts),
    }

    def one_pass(setting: Setting) -> float:
        setting.activate()
        start = time.perf_counter()
        for batch in batches:
            out = predict(potential, batch, with_stress=needs_stress(weights, batch), training=True)
            loss = compute_loss(out, batch, weights)
            setting.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(setting.params, opts.grad_clip or float("inf"))
            setting.optimizer.step()
        return (time.perf_counter() - start) / len(batches)

    for setting in settings.values():  # warm-up: allocator, optimizer state
        one_pass(setting)
    times = {key: [] for key in settings}
    for _ in range(repeats):
        for key, setting in settings.items():
            times[key].append(one_pass(setting))
    median = {key: statistics.median(values) for key, values in times.items()}
    atoms = sum(int(b.positions.shape[0]) for b in batches) / len(batches)
    return {
        "case": name,
        "model": config.model.to_dict(),
        "batch_size": opts.batch_size,
        "atoms_per_batch": atoms,
        "steps_per_pass": len(batches),
        "repeats": repeats,
        "step_ms": {key: 1e3 * value for key, value in median.items()},
        "step_ms_all": {key: [1e3 * v for v in values] for key, values in times.items()},
        "speedup": median["general"] / median["shipped"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="batches per timed pass")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per setting")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the configs' 1)")
    parser.add_argument("--case", choices=sorted(CASES), action="append", help="default: all")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = [run_case(name, args.steps, args.repeats) for name in args.case or CASES]
    for row in rows:
        ms = row["step_ms"]
        print(
            f"{row['case']:15s} batch {row['batch_size']} ({row['atoms_per_batch']:.0f} atoms): "
            f"general {ms['general']:.1f} ms, shipped {ms['shipped']:.1f} ms, "
            f"speedup {row['speedup']:.2f}x"
        )
    write_json(RESULTS, {"hardware": hardware(), "threads": args.threads, "cases": rows})
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
