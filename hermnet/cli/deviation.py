"""`hermnet deviation M0 M1 ... STRUCTURES -o model_devi.out`"""

from pathlib import Path


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "deviation",
        help="committee model deviation of a trajectory, as DeePMD-kit's model_devi.out",
        description="Evaluate every model of a committee (models trained alike with "
        "different seeds: hermnet train CONFIG --seeds 0 1 2 3) on every frame and write "
        "DeePMD-kit's model_devi.out: step, max/min/avg virial deviation (eV per atom), "
        "max/min/avg force deviation (eV/Å) and devi_e (eV per atom). Exported models run "
        "through the C++ core, as in LAMMPS; training checkpoints work too. Feed the file "
        "to `hermnet select` or to tools written for DeePMD-kit (DP-GEN).",
    )
    parser.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="two or more models (exported model.pt or best.pt), then the structures (any "
        "format ase.io.read reads: extxyz, a LAMMPS dump with elements, ...)",
    )
    parser.add_argument("-o", "--output", type=Path, default=Path("model_devi.out"))
    parser.add_argument(
        "--frequency",
        type=int,
        default=1,
        help="MD steps between the frames: the step column is frame index x this (default 1)",
    )
    parser.add_argument("--atomic", action="store_true", help="append each atom's force deviation")
    parser.add_argument(
        "--relative",
        type=float,
        metavar="LEVEL",
        help="force deviation divided by |mean force| + LEVEL (DeePMD-kit's relative)",
    )
    parser.add_argument(
        "--relative-v",
        type=float,
        metavar="LEVEL",
        help="virial deviation divided by |mean virial per atom| + LEVEL",
    )
    parser.add_argument("--device", default="cpu")
    return parser


def run(args) -> int:
    import ase.io

    from hermnet.committee import CommitteeError, SelectionError, trajectory_deviation
    from hermnet.deviation import write_model_devi
    from hermnet.files import require_file

    *models, structures = args.files
    if args.frequency < 1:
        raise SelectionError(
            f"--frequency must be a positive number of steps, got {args.frequency}"
        )
    if len(models) < 2:
        raise CommitteeError(
            f"give two or more models and then the structures file, got {len(args.files)} "
            "file(s): hermnet deviation m0.pt m1.pt ... structures.extxyz"
        )
    for model in models:
        require_file(model, "model")
    frames = ase.io.read(require_file(structures, "structures file"), index=":")
    deviations = trajectory_deviation(
        models, frames, args.device, relative=args.relative, relative_v=args.relative_v
    )
    steps = [k * args.frequency for k in range(len(frames))]
    write_model_devi(args.output, steps, deviations, atomic=args.atomic)
    worst = max((d.max_devi_f for d in deviations), default=float("nan"))
    print(
        f"wrote {args.output}: {len(frames)} frames, {len(models)} models, largest "
        f"max_devi_f {worst:.4g} eV/Å"
    )
    return 0
