"""Benchmark results files: written whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path


def write_json(path: str | Path, data) -> Path:
    """Write `data` as JSON through a temporary file and a rename, so that an interrupted
    benchmark never leaves a half-written results file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path
