"""`hermnet evaluate MODEL DATA...` (a training checkpoint or an exported model)"""

from pathlib import Path


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help="error metrics of a checkpoint or an exported model on datasets",
        description="Energy (per atom), force and stress MAE and RMSE per dataset, printed "
        "as a table and written to OUT/metrics.json with parity plots. An exported model "
        "(from `hermnet export`) is evaluated through the C++ core, as LAMMPS runs it.",
    )
    parser.add_argument(
        "checkpoint",
        type=Path,
        metavar="model",
        help="best.pt or last.pt of a training run, or an exported model.pt",
    )
    parser.add_argument("data", nargs="+", help="files, folders or globs (any supported format)")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: next to the model)"
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    return parser


def run(args) -> int:
    from hermnet.evaluate import evaluate_checkpoint, format_table
    from hermnet.files import require_file

    require_file(args.checkpoint, "model")
    out = args.out or args.checkpoint.parent / "evaluation"
    report = evaluate_checkpoint(
        args.checkpoint, args.data, out, batch_size=args.batch_size, device=args.device
    )
    print(format_table(report))
    print(f"wrote {out / 'metrics.json'}")
    return 0
