"""Timed LAMMPS runs for the benchmarks: threads per rank explicit (1 unless asked), log
kept, wall time; one run, or independent runs at once (what the machine gives jobs that
share nothing but its memory and caches)."""

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
    return run_together(script, [workdir], nprocs, name, threads)[0]


def run_together(
    script: str, workdirs: list[Path], nprocs: int, name: str = "in.bench", threads: int = 1
) -> list[BenchRun]:
    """The same input started in every folder at once; returns when all have ended."""
    from hermnet.lammps.run import lammps_command, lammps_env

    cmd = [*lammps_command(nprocs), "-in", name, "-log", "log.lammps", "-screen", "none"]
    env = lammps_env()
    env["OMP_NUM_THREADS"] = str(threads)
    for workdir in workdirs:
        (workdir / name).write_text(script)
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            cmd, cwd=w, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for w in workdirs
    ]
    outputs = [p.communicate() for p in procs]
    wall = time.perf_counter() - start
    runs = []
    for workdir, proc, (stdout, stderr) in zip(workdirs, procs, outputs, strict=True):
        log_path = workdir / "log.lammps"
        log = log_path.read_text() if log_path.exists() else ""
        error = None
        if proc.returncode != 0 or "ERROR" in log:
            error = "\n".join((log + stdout + stderr).splitlines()[-20:])
        runs.append(BenchRun(log, wall, f"OMP_NUM_THREADS={threads} " + " ".join(cmd), error))
    return runs
