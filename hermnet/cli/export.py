"""`hermnet export CHECKPOINT -o model.pt`: a self-describing TorchScript model."""

import argparse
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "export",
        help="export a checkpoint to a TorchScript model for ASE, C++ and LAMMPS",
        description="Write a TorchScript model with its metadata and an embedded self-check "
        "frame (the smallest training structure, or --frame). EMA weights are used when the "
        "checkpoint has them. Only local (readout: atomic) models can be exported.",
    )
    parser.add_argument("checkpoint", help="training checkpoint (best.pt or last.pt)")
    parser.add_argument("-o", "--output", required=True, help="path of the exported model")
    parser.add_argument(
        "--dtype", choices=["float32", "float64"], default=None, help="default: the model's own"
    )
    parser.add_argument(
        "--tf32",
        action="store_true",
        help="float32 models: let GPUs run matrix products in TF32 (faster, ~1e-3 relative "
        "error per product; stored in the file and logged by LAMMPS)",
    )
    parser.add_argument(
        "--unfused",
        action="store_true",
        help="use plain torch operators instead of the C++ core's fused edge operators "
        "(slower on CPUs; the file then loads with torch.jit.load alone)",
    )
    parser.add_argument(
        "--frame",
        default=None,
        help="structure file for the self-check (its smallest structure) when the training "
        "data are not readable here",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from hermnet.export import ExportError, export_checkpoint, keys
    from hermnet.files import require_file
    from hermnet.model.checkpoint import CheckpointError

    require_file(args.checkpoint, "checkpoint")
    try:
        meta = export_checkpoint(
            args.checkpoint, args.output, args.dtype, args.frame, args.tf32, not args.unfused
        )
    except (ExportError, CheckpointError) as err:
        print(f"hermnet: error: {err}", file=sys.stderr)
        return 2
    check = meta[keys.METADATA_SELF_CHECK]
    print(
        f"wrote {args.output}: {meta[keys.METADATA_VARIANT]} model, elements "
        f"{meta[keys.METADATA_ELEMENTS]}, {meta[keys.METADATA_DTYPE]}, "
        f"{meta[keys.METADATA_NUM_PARAMETERS]:,} parameters; self-check on "
        f"{len(check[keys.CHECK_TYPES])} atoms ({check[keys.CHECK_SOURCE]}) passed"
    )
    return 0
