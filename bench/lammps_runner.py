"""One timed LAMMPS run for the benchmarks: threads per rank explicit (1 unless asked), log
kept, wall time."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class BenchRun:
    log: str  # log.lammps of the run ("" when LAMMPS wrote none)
    wall_s: float
    command: str
    error: str | None  # the last lines of log and output when the run failed


def run_bench(
    script: str, workdir: Path, nprocs: int, name: str = "in.bench", threads: int = 1
) -> BenchRun:
    from hermnet.lammps.run import lammps_command, lammps_env

    (workdir / name).write_text(script)
    cmd = [*lammps_command(nprocs), "-in", name, "-log", "log.lammps", "-screen", "none"]
    env = lammps_env()
    env["OMP_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    log_path = workdir / "log.lammps"
    log = log_path.read_text() if log_path.exists() else ""
    error = None
    if proc.returncode != 0 or "ERROR" in log:
        error = "\n".join((log + proc.stdout + proc.stderr).splitlines()[-20:])
    return BenchRun(log, wall, f"OMP_NUM_THREADS={threads} " + " ".join(cmd), error)
