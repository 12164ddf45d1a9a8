"""`hermnet train (CONFIG | --recipe NAME --train FILE ...) [options]`."""

import argparse
import sys
from pathlib import Path

# The recipe files, found without importing hermnet.train (torch): `hermnet --help` stays fast.
RECIPES = sorted(p.stem for p in (Path(__file__).parents[1] / "train" / "recipes").glob("*.yaml"))

PATHS = (
    "Relative paths written in a config file, and in --set, start from the config file's "
    "folder; paths given as options (--train, --validation, --test, --output) start from "
    "the working folder, and so does everything when --recipe is used."
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train",
        help="train a model from a YAML config or a recipe",
        description=(
            "Train a HermNet potential from a config file, or from a recipe (the settings "
            "of the benchmarks in docs/results.md) on your data: hermnet train --recipe "
            "mlearn --train my.extxyz --test test.extxyz. The run folder (output: in the "
            "config, --output) receives best.pt, last.pt, metrics.csv, train.log and plots. "
            "Launch with `torchrun --nproc_per_node N -m hermnet.cli.main train ...` for "
            "data-parallel training. " + PATHS
        ),
    )
    parser.add_argument("config", nargs="?", help="training config (YAML); or give --recipe")
    parser.add_argument(
        "--recipe",
        choices=RECIPES,
        help="train with a shipped recipe instead of a config: rmd17 (one small molecule), "
        "mlearn (one element's crystal, surfaces, defects, with stresses), water (a liquid); "
        "needs --train; time limit and schedule included (--minutes)",
    )
    data = parser.add_argument_group("data and model (fill a recipe, or replace config entries)")
    data.add_argument("--train", nargs="+", metavar="FILE", help="training structures")
    data.add_argument(
        "--validation",
        nargs="+",
        metavar="FILE",
        help="validation structures (default: a share of --train, as the recipe says)",
    )
    data.add_argument("--test", nargs="+", metavar="FILE", help="evaluated once at the end")
    data.add_argument(
        "--elements",
        nargs="+",
        metavar="SYMBOL",
        help="the model's elements (default with --recipe: those in the training data)",
    )
    data.add_argument("--output", metavar="FOLDER", help="the run folder")
    parser.add_argument(
        "--minutes",
        type=float,
        help="stop after this much training time (last.pt is kept for --resume); a cosine "
        "schedule reaches its floor exactly then (default with --recipe: the recipe's 30)",
    )
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
        "YAML; relative paths start from the config file's folder, or the working folder "
        "with --recipe), e.g. --set training.learning_rate=3e-4 --set output=runs/lr3e-4",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        metavar="N",
        help="train a committee (for model deviation): one run per seed, one after the "
        "other, in OUTPUT/seed<N> with training.seed = N; --resume continues the members "
        "that have a last.pt and starts the others",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the config that would run, as YAML, and stop (with --recipe and no "
        "--train: the recipe file itself, to copy and edit)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from hermnet.train import TrainingError, train
    from hermnet.train.recipes import build_config, recipe_path

    if args.print_config and args.recipe and not args.train and args.config is None:
        print(recipe_path(args.recipe).read_text(), end="")
        return 0
    config, notes = build_config(
        args.config,
        args.recipe,
        train=args.train,
        validation=args.validation,
        test=args.test,
        elements=args.elements,
        output=args.output,
        minutes=args.minutes,
        overrides=args.set,
    )
    if args.print_config:
        import yaml

        print(yaml.safe_dump(config.to_dict(), sort_keys=False), end="")
        return 0
    for note in notes:
        print(f"hermnet: {note}", file=sys.stderr)
    if args.seeds is not None:
        return _train_committee(config, args)
    try:
        train(config, resume=args.resume, overwrite=args.overwrite)
    except TrainingError as err:
        print(f"hermnet: error: {err}", file=sys.stderr)
        return 1
    return 0  # also when max_time_minutes stopped it early: last.pt is ready for --resume


def _train_committee(config, args: argparse.Namespace) -> int:
    from hermnet.committee import member_configs
    from hermnet.train import TrainingError, train

    members = member_configs(config, args.seeds)
    for k, member in enumerate(members, 1):
        resume = args.resume and (member.output / "last.pt").exists()
        what = "resuming" if resume else "training"
        print(
            f"hermnet: committee member {k}/{len(members)}: {what} seed "
            f"{member.training.seed} in {member.output}",
            file=sys.stderr,
        )
        try:
            train(member, resume=resume, overwrite=args.overwrite)
        except TrainingError as err:
            print(f"hermnet: error: committee member {member.output}: {err}", file=sys.stderr)
            return 1
    print(
        "hermnet: committee trained: "
        + " ".join(str(m.output / "best.pt") for m in members)
        + " (export each, then hermnet deviation or pair_style hermnet with all of them)",
        file=sys.stderr,
    )
    return 0
