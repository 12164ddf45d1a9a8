"""`hermnet train CONFIG [--resume | --overwrite] [--set SECTION.KEY=VALUE ...]`."""

import argparse
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train",
        help="train a model from a YAML config",
        description=(
            "Train a HermNet potential. The run folder (output: in the config) receives "
            "best.pt, last.pt, metrics.csv, train.log and plots. Launch with "
            "`torchrun --nproc_per_node N -m hermnet.cli.main train CONFIG` for "
            "data-parallel training."
        ),
    )
    parser.add_argument("config", help="training config (YAML)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in the output folder from its last.pt: weights, optimizer, "
        "schedule, EMA, epoch and step counters and every random-number generator",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the results of a previous run in the output folder (without it, or "
        "--resume, a folder holding best.pt, last.pt or metrics.csv is refused)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one config entry, checked like the file (repeatable; the value is "
        "YAML; relative paths are relative to the config's folder), e.g. "
        "--set training.learning_rate=3e-4 --set output=runs/lr3e-4",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from hermnet.train import TrainingError, load_config, train

    config = load_config(args.config, args.set)
    try:
        train(config, resume=args.resume, overwrite=args.overwrite)
    except TrainingError as err:
        print(f"hermnet: error: {err}", file=sys.stderr)
        return 1
    return 0  # also when max_time_minutes stopped it early: last.pt is ready for --resume
