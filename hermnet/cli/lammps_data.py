"""`hermnet lammps-data STRUCTURE -o system.data --model model.pt`: a LAMMPS data file.

Atom types follow the model's element order (type t is the model's t-th element), masses
come from the elements, and a periodic cell is rotated into LAMMPS' orientation. The
command prints the `pair_coeff` line that matches the file.
"""

import argparse
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "lammps-data",
        help="write a structure as a LAMMPS data file with the model's atom types",
        description="Write one structure (any file ase.io.read understands) as an "
        "`atom_style atomic` LAMMPS data file whose atom types are the model's elements in "
        "the model's order, and print the matching pair_coeff line. Periodic cells are "
        "rotated into LAMMPS' orientation; molecules get a vacuum box.",
    )
    parser.add_argument("structure", help="structure file (extxyz, POSCAR, cif, ...)")
    parser.add_argument("-o", "--output", required=True, help="data file to write")
    parser.add_argument(
        "--model", required=True, help="exported model.pt (or a training checkpoint)"
    )
    parser.add_argument(
        "--index", default="-1", help="which frame of a multi-frame file (default: the last)"
    )
    parser.add_argument(
        "--vacuum", type=float, default=10.0, help="Å around a non-periodic structure"
    )
    return parser


def model_elements(path: str) -> list[str]:
    """The element of each atom type, in the model's order, read without loading weights."""
    from hermnet.export import is_exported_model, keys, read_metadata
    from hermnet.model.checkpoint import load_checkpoint

    if is_exported_model(path):
        return list(read_metadata(path)[keys.METADATA_ELEMENTS])
    return list(load_checkpoint(path)["model_config"]["elements"])


def run(args: argparse.Namespace) -> int:
    from ase.io import read

    from hermnet.files import require_file
    from hermnet.lammps.data import lammps_frame, write_data

    require_file(args.model, "model")
    require_file(args.structure, "structure file")
    elements = model_elements(args.model)
    try:
        atoms = read(args.structure, index=int(args.index))
    except (OSError, ValueError, IndexError, StopIteration) as err:
        print(f"hermnet: error: could not read {args.structure}: {err}", file=sys.stderr)
        return 2
    unknown = sorted(set(atoms.get_chemical_symbols()) - set(elements))
    if unknown:
        print(
            f"hermnet: error: {args.structure} contains {unknown}, which the model (elements "
            f"{elements}) does not know",
            file=sys.stderr,
        )
        return 2
    try:
        write_data(args.output, lammps_frame(atoms), elements, vacuum=args.vacuum)
    except ValueError as err:
        print(f"hermnet: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}: {len(atoms)} atoms, atom types {_types(elements)}")
    print(f"pair_style      hermnet {args.model}")
    print(f"pair_coeff      * * {' '.join(elements)}")
    return 0


def _types(elements: list[str]) -> str:
    return ", ".join(f"{t}={e}" for t, e in enumerate(elements, 1))
