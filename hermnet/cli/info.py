"""`hermnet info model.pt`: what an exported model is, and whether it still works here."""

import argparse
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "info",
        help="describe an exported model and run its embedded self-check",
        description="Print the metadata of an exported model and run the embedded self-check "
        "through TorchScript in Python and through the C++ core.",
    )
    parser.add_argument("model", help="exported model file (from `hermnet export`)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--no-self-check", action="store_true", help="only print the metadata")
    return parser


def describe(meta: dict) -> str:
    from hermnet.export import keys

    units = meta[keys.METADATA_UNITS]
    check = meta[keys.METADATA_SELF_CHECK]
    symbols = meta[keys.METADATA_ELEMENTS]
    numbers = meta[keys.METADATA_ATOMIC_NUMBERS]
    rows = [
        ("format", f"{meta[keys.METADATA_FORMAT]} v{meta[keys.METADATA_FORMAT_VERSION]}"),
        (
            "elements",
            ", ".join(
                f"{i}:{s}(Z={z})" for i, (s, z) in enumerate(zip(symbols, numbers, strict=True))
            ),
        ),
        ("variant", meta[keys.METADATA_VARIANT]),
        ("dtype", f"{meta[keys.METADATA_DTYPE]} (energies accumulated in float64)"),
        ("TF32 on GPUs", "yes" if meta.get(keys.METADATA_TF32) else "no"),
        (
            "edge operators",
            "fused (C++ core; plain torch.jit.load needs `import hermnet._core` first)"
            if meta.get(keys.METADATA_FUSED_EDGES)
            else "torch (exported with --unfused)",
        ),
        ("cutoff", f"{meta[keys.METADATA_CUTOFF]:g} {units['length']}"),
        ("message hops", str(meta[keys.METADATA_NUM_HOPS])),
        ("receptive field", f"{meta[keys.METADATA_RECEPTIVE_FIELD]:g} {units['length']}"),
        (
            "hop interface",
            f"v{meta[keys.METADATA_HOP_INTERFACE]} (LAMMPS `ghosts exchange` works)"
            if keys.METADATA_HOP_INTERFACE in meta
            else "none: re-export for LAMMPS `ghosts exchange`",
        ),
        ("parameters", f"{meta[keys.METADATA_NUM_PARAMETERS]:,}"),
        ("units", f"energy {units['energy']}, length {units['length']}"),
        (
            "hermnet / torch",
            f"{meta[keys.METADATA_HERMNET_VERSION]} / {meta[keys.METADATA_TORCH_VERSION]}",
        ),
        ("training data", meta[keys.METADATA_TRAINING_DATA]),
        (
            "self-check frame",
            f"{len(check[keys.CHECK_TYPES])} atoms from {check[keys.CHECK_SOURCE]}",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:>{width}}  {value}" for name, value in rows)


def run(args: argparse.Namespace) -> int:
    from hermnet.export import ModelFileError, load_exported, read_metadata
    from hermnet.files import require_file

    require_file(args.model, "model")
    try:
        meta = read_metadata(args.model)
    except ModelFileError as err:
        print(f"hermnet: error: {err}", file=sys.stderr)
        return 2
    print(describe(meta))
    if args.no_self_check:
        return 0
    ok = True
    try:
        result = load_exported(args.model, args.device).self_check()
        print(f"   python (TorchScript)  {result.report()}")
        ok &= result.passed
    except ModelFileError as err:
        print(f"   python (TorchScript)  could not load: {err}")
        ok = False
    try:
        from hermnet.export.core import ModelError, load_core
    except ImportError as err:
        print(f"   C++ core              not available: {err}")
        return 0 if ok else 1
    try:
        passed, report = load_core(args.model, args.device).self_check()
        print(f"   C++ core              {report}")
        ok &= passed
    except ModelError as err:
        print(f"   C++ core              could not load: {err}")
        ok = False
    return 0 if ok else 1
