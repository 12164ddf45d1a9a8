"""`hermnet evaluate CHECKPOINT DATA...`"""

from pathlib import Path


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help="error metrics of a checkpoint on datasets",
        description="Energy (per atom), force and stress MAE and RMSE per dataset, printed "
        "as a table and written to OUT/metrics.json with parity plots.",
    )
    parser.add_argument("checkpoint", type=Path, help="best.pt or last.pt of a training run")
    parser.add_argument("data", nargs="+", help="files, folders or globs (any supported format)")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: next to the checkpoint)"
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    return parser


def run(args) -> int:
    from hermnet.evaluate import evaluate_checkpoint, format_table

    out = args.out or args.checkpoint.parent / "evaluation"
    report = evaluate_checkpoint(
        args.checkpoint, args.data, out, batch_size=args.batch_size, device=args.device
    )
    print(format_table(report))
    print(f"wrote {out / 'metrics.json'}")
    return 0
