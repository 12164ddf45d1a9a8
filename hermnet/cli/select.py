"""`hermnet select model_devi.out TRAJECTORY --lo A --hi B -o candidates.extxyz`"""

from pathlib import Path


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "select",
        help="frames whose maximum force deviation lies in [lo, hi): candidates to label",
        description="Read a model_devi.out (hermnet deviation, pair_style hermnet or "
        "DeePMD-kit) and its trajectory, and write the frames whose max_devi_f lies in "
        "[--lo, --hi) for labelling: below lo the committee agrees (the data covers them), "
        "at or above hi the structure is likely unphysical. Row i of the file is frame i "
        "(write both at the same frequency) unless the frames carry their step in "
        "atoms.info['step']. Each candidate records model_devi_step and max_devi_f.",
    )
    parser.add_argument("model_devi", type=Path, help="model_devi.out")
    parser.add_argument("trajectory", type=Path, help="the frames (any ase.io.read format)")
    parser.add_argument("--lo", type=float, required=True, help="lower bound, eV/Å (kept)")
    parser.add_argument("--hi", type=float, required=True, help="upper bound, eV/Å (left out)")
    parser.add_argument("-o", "--output", type=Path, default=Path("candidates.extxyz"))
    return parser


def run(args) -> int:
    import ase.io

    from hermnet.committee import select_frames
    from hermnet.deviation import read_model_devi
    from hermnet.files import atomic_path, require_file

    columns = read_model_devi(args.model_devi)
    frames = ase.io.read(require_file(args.trajectory, "trajectory"), index=":")
    picked, counts = select_frames(columns, frames, args.lo, args.hi)
    with atomic_path(args.output) as tmp:
        ase.io.write(tmp, [frames[k] for k in picked], format="extxyz")
    total = len(frames)
    print(
        f"{counts['accurate']} of {total} frames below {args.lo:g} eV/Å, "
        f"{counts['candidate']} candidates in [{args.lo:g}, {args.hi:g}), "
        f"{counts['failed']} at or above {args.hi:g}; wrote {args.output}"
    )
    return 0
