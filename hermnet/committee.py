"""A committee of models: what its members must share, checked before anything runs.

The members of a committee are evaluated on the same structure (in LAMMPS: the same
neighbor list), so they must agree on the elements they know, the cutoff and the units.
Element order may differ: every engine maps atoms to types by chemical symbol.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Checkpoints are always in eV and Å (readers convert at the boundary).
DEFAULT_UNITS = {"energy": "eV", "length": "Å"}


class CommitteeError(ValueError):
    """The models given as a committee cannot be compared; the message says why."""


class SelectionError(ValueError):
    """Rows of model_devi.out and frames of a trajectory that cannot be paired."""


@dataclass(frozen=True)
class MemberInfo:
    path: str
    elements: tuple[str, ...]
    cutoff: float
    units: tuple[tuple[str, str], ...]


def describe(path: str | os.PathLike) -> MemberInfo:
    """Elements, cutoff and units of an exported model or a training checkpoint."""
    from hermnet.export import is_exported_model, read_metadata
    from hermnet.export import keys as export_keys
    from hermnet.files import require_file

    require_file(path, "committee model")
    if is_exported_model(path):
        meta = read_metadata(path)
        elements = meta[export_keys.METADATA_ELEMENTS]
        cutoff = meta[export_keys.METADATA_CUTOFF]
        units = meta[export_keys.METADATA_UNITS]
    else:
        from hermnet.model.checkpoint import load_checkpoint
        from hermnet.model.config import ModelConfig

        config = ModelConfig.from_saved(load_checkpoint(path)["model_config"])
        elements, cutoff, units = config.elements, config.cutoff, DEFAULT_UNITS
    return MemberInfo(str(path), tuple(elements), float(cutoff), tuple(sorted(dict(units).items())))


def check_committee(members: list[MemberInfo]) -> None:
    """CommitteeError naming the first member that differs from the first one, and how."""
    if len(members) < 2:
        raise CommitteeError(
            f"a committee needs at least two models, got {len(members)}; give two or more "
            "models trained alike with different seeds (hermnet train CONFIG --seeds 0 1 2 3)"
        )
    first = members[0]
    for other in members[1:]:
        problems = []
        if set(other.elements) != set(first.elements):
            problems.append(f"elements {list(other.elements)} vs {list(first.elements)}")
        if other.cutoff != first.cutoff:
            problems.append(f"cutoff {other.cutoff:g} Å vs {first.cutoff:g} Å")
        if other.units != first.units:
            problems.append(f"units {dict(other.units)} vs {dict(first.units)}")
        if problems:
            raise CommitteeError(
                f"the committee's models differ: {other.path} has {'; '.join(problems)} of "
                f"{first.path}; a committee is models trained alike (same model section, "
                "different seeds), so that their forces can be compared atom by atom"
            )


def trajectory_deviation(
    models: list,
    frames: list,
    device: str = "cpu",
    relative: float | None = None,
    relative_v: float | None = None,
) -> list:
    """The committee's Deviation (hermnet.deviation) of each ASE frame, in order.

    Exported models run through the C++ core (as in LAMMPS) when every member is one;
    a committee with training checkpoints runs in PyTorch.
    """
    from hermnet.calculators import HermNetCalculator
    from hermnet.export import is_exported_model

    backend = "cpp" if all(is_exported_model(m) for m in models) else "python"
    calc = HermNetCalculator(
        model=list(models), device=device, backend=backend, relative=relative, relative_v=relative_v
    )
    deviations = []
    for atoms in frames:
        atoms = atoms.copy()  # the frame keeps its own results (labels, MD forces)
        calc.calculate(atoms, ["energy", "forces"])
        deviations.append(calc.deviation)
    return deviations


def select_frames(
    columns: dict, frames: list, lo: float, hi: float, column: str = "max_devi_f"
) -> tuple[list[int], dict[str, int]]:
    """Indices of frames whose `column` lies in [lo, hi), and the counts below/in/above.

    Row i of model_devi.out is frame i, unless every frame carries its MD step in
    atoms.info ("step" or "timestep"); then rows and frames are matched by step.
    """
    if not lo < hi:
        raise SelectionError(f"--lo must be below --hi, got lo={lo:g}, hi={hi:g}")
    values, steps = columns[column], columns["step"]
    frame_steps = [f.info.get("step", f.info.get("timestep")) for f in frames]
    if frames and all(s is not None for s in frame_steps):
        row_of = {int(s): k for k, s in enumerate(steps)}
        missing = [int(s) for s in frame_steps if int(s) not in row_of]
        if missing:
            raise ValueError(
                f"frames at steps {missing[:5]} have no row in the model deviation file; "
                "write both with the same frequency (out_freq N and dump every N)"
            )
        rows = [row_of[int(s)] for s in frame_steps]
    elif len(frames) != len(steps):
        raise SelectionError(
            f"the model deviation file has {len(steps)} rows but the trajectory has "
            f"{len(frames)} frames; row i must describe frame i: write both with the same "
            "frequency (pair_style ... out_freq N and dump every N steps), or store each "
            "frame's step in its info ('step')"
        )
    else:
        rows = list(range(len(frames)))
    picked = [k for k, row in enumerate(rows) if lo <= values[row] < hi]
    counts = {
        "accurate": sum(values[row] < lo for row in rows),
        "candidate": len(picked),
        "failed": sum(values[row] >= hi for row in rows),
    }
    for k in picked:  # where each candidate came from, for the labelling records
        frames[k].info["model_devi_step"] = int(steps[rows[k]])
        frames[k].info[column] = float(values[rows[k]])
    return picked, counts


def member_configs(config, seeds: list[int]) -> list:
    """One TrainConfig per seed: training.seed set, output OUTPUT/seed<N>."""
    import dataclasses
    from pathlib import Path

    if len(set(seeds)) != len(seeds) or len(seeds) < 2:
        raise CommitteeError(
            f"--seeds needs two or more different seeds, got {seeds} (e.g. --seeds 0 1 2 3)"
        )
    return [
        dataclasses.replace(
            config,
            training=dataclasses.replace(config.training, seed=int(seed)),
            output=Path(config.output) / f"seed{seed}",
        )
        for seed in seeds
    ]
