"""Rewrite a trusted checkpoint with plain types only, so that it loads safely.

    python -m hermnet.model.convert_checkpoint OLD.pt --trust [-o NEW.pt]

Loading the old file runs whatever its pickle says (that is why hermnet refuses it), so
this is for files you wrote yourself. numpy arrays and scalars become tensors and
numbers, paths become strings; any other object stops the conversion with its name.
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

from hermnet.files import WriteError
from hermnet.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def plain(value, where: str = "checkpoint"):
    """`value` with tensors, numbers, strings, None and plain containers only."""
    if isinstance(value, np.generic):  # before float: np.float64 is a float subclass
        return value.item()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if value is None or isinstance(value, bool | int | float | str | torch.Tensor):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {plain(k, where): plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise CheckpointError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which has no "
        "plain equivalent; this file was not written by hermnet"
    )


def convert(source: Path, target: Path) -> None:
    try:
        payload = torch.load(source, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises many types for a damaged file
        raise CheckpointError(f"{source} could not be read: {err}") from err
    if not isinstance(payload, dict) or payload.get("format") != "hermnet-checkpoint":
        raise CheckpointError(f"{source} is not a HermNet training checkpoint")
    payload = plain({k: v for k, v in payload.items() if k not in ("format", "version")})
    save_checkpoint(target, payload)
    load_checkpoint(target)  # the proof that it now loads safely


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=None, help="default: in place")
    parser.add_argument(
        "--trust", action="store_true", help="required: loading the old file runs its pickle"
    )
    args = parser.parse_args(argv)
    if not args.trust:
        parser.error("pass --trust to confirm that you wrote this file (its pickle will run)")
    target = args.output or args.checkpoint
    try:
        convert(args.checkpoint, target)
    except (CheckpointError, WriteError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {target}: loads with weights_only=True")
    return 0


if __name__ == "__main__":
    sys.exit(main())
