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
        ("hop interface", hop_interface(meta)),
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


def hop_interface(meta: dict) -> str:
    """What the metadata say about the hop-by-hop methods (not whether they run)."""
    from hermnet.export import keys

    version = meta.get(keys.METADATA_HOP_INTERFACE)
    if version is None:
        return "none: re-export for LAMMPS `ghosts exchange` and `chunk`"
    if version > keys.HOP_INTERFACE_VERSION:
        return (
            f"v{version}, newer than this hermnet's v{keys.HOP_INTERFACE_VERSION}: LAMMPS "
            "`ghosts exchange` and `chunk` cannot run it; update hermnet or use `ghosts deep`"
        )
    return f"v{version} (for LAMMPS `ghosts exchange` and `chunk`; the C++ self-check runs it)"


def ghost_exchange(meta: dict, passed: bool | None, report: str) -> str:
    """What the C++ self-check showed about the hop-by-hop path LAMMPS' exchange runs.

    passed: None when the self-check could not run or the core is not available.
    """
    from hermnet.export import keys

    if keys.METADATA_HOP_INTERFACE not in meta:
        return "not available (no hop-by-hop methods in the file)"
    if passed is None:
        return f"not verified: the C++ core's hop-by-hop evaluation did not run ({report})"
    if passed and "hop by hop: " in report:  # the deviations of both paths are listed
        return "verified: hop by hop through the C++ core, the self-check frame matches"
    if passed:
        return "not verified: the C++ self-check did not evaluate hop by hop"
    if "hop by hop: " in report:  # a failed report lists only the problems
        return "FAILED: the hop-by-hop evaluation differs (see the C++ core line)"
    return "verified (hop by hop matches; the whole-graph evaluation differs, see above)"


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
        print(f"   ghosts exchange       {ghost_exchange(meta, None, 'no C++ core')}")
        return 0 if ok else 1
    try:
        core = load_core(args.model, args.device)
    except ModelError as err:
        print(f"   C++ core              could not load: {err}")
        return 1
    try:
        passed, report = core.self_check()
        print(f"   C++ core              {report}")
    except ModelError as err:  # loaded, but evaluating the frame failed: nothing compared
        passed, report = None, str(err)
        print(f"   C++ core              self-check could not run: {err}")
    print(f"   ghosts exchange       {ghost_exchange(meta, passed, report)}")
    return 0 if ok and passed else 1
