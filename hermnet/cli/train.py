"""`hermnet train CONFIG [--resume]`."""

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
        help="continue the run in the output folder from its last.pt",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from hermnet.train import TrainingError, train

    try:
        train(args.config, resume=args.resume)
    except TrainingError as err:
        print(f"hermnet: error: {err}", file=sys.stderr)
        return 1
    return 0  # also when max_time_minutes stopped it early: last.pt is ready for --resume
