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
