"""The plugin is installed, registered through the `lammps.plugins` entry point without
heavy imports, and found by `lmp`, `mpirun ... lmp` and the LAMMPS Python module."""

import os
import subprocess
import sys
import textwrap
from importlib import metadata

import numpy as np

from hermnet.lammps import PLUGIN_FILE, plugin_dir
from hermnet.lammps.data import write_data
from hermnet.lammps.run import lammps_env, run_lammps
from tests.lammps.lammps_helpers import structure
from tests.model.helpers import ELEMENTS


def test_entry_point_returns_the_plugin_folder(plugin):
    (entry,) = [e for e in metadata.entry_points(group="lammps.plugins") if e.name == "hermnet"]
    folder = entry.load()()
    assert folder == plugin_dir()
    assert os.path.isfile(os.path.join(folder, PLUGIN_FILE))
    # the installed plugin finds libtorch through its RPATH, without LD_LIBRARY_PATH
    ldd = subprocess.run(["ldd", plugin], capture_output=True, text=True, check=True).stdout
    assert "not found" not in ldd and "libtorch_cpu.so" in ldd


def test_entry_point_module_imports_nothing_heavy():
    code = "import sys, hermnet.lammps; print(sorted({'torch', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def energy_script() -> str:
    return "\n".join(
        [
            "units metal",
            "atom_style atomic",
            "read_data data.lmp",
            "pair_style hermnet model.pt",
            f"pair_coeff * * {' '.join(ELEMENTS)}",
            "run 0",
            'print "ENERGY $(pe:%.17g)"',
        ]
    )


def test_lmp_and_mpirun_find_the_style_without_plugin_load(tmp_path, models):
    write_data(tmp_path / "data.lmp", structure("alloy"), ELEMENTS)
    os.symlink(models["pair"], tmp_path / "model.pt")
    energies = []
    for n in (1, 2):
        run = run_lammps(energy_script(), tmp_path, nprocs=n)
        assert "Loaded 1 plugins from" in run.output and "plugin load" not in energy_script()
        energies.append(float(run.output.split("ENERGY ")[-1].split()[0]))
    assert energies[0] == np.float64(energies[1]) or abs(energies[0] - energies[1]) < 1e-10


def test_lammps_python_module_finds_the_style(tmp_path, models):
    write_data(tmp_path / "data.lmp", structure("alloy"), ELEMENTS)
    os.symlink(models["pair"], tmp_path / "model.pt")
    (tmp_path / "in.energy").write_text(energy_script())
    reference = float(run_lammps(energy_script(), tmp_path).output.split("ENERGY ")[-1].split()[0])
    code = textwrap.dedent(
        """
        from hermnet.lammps import setup_python_lammps
        setup_python_lammps()
        import lammps
        lmp = lammps.lammps(cmdargs=["-nocite", "-log", "none", "-screen", "none"])
        assert lmp.has_style("pair", "hermnet"), lmp.available_plugins()
        lmp.file("in.energy")
        print("PYTHON", repr(lmp.get_thermo("pe")))
        lmp.close()
        """
    )
    env = lammps_env()
    env.pop("LD_LIBRARY_PATH")  # setup_python_lammps() must find mpich by itself
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert float(out.stdout.split("PYTHON ")[-1]) == reference


def test_start_up_log_names_dtype_tf32_and_chunking(tmp_path, plugin):
    """A float32 model exported with TF32: the log says so (it only acts on GPUs)."""
    from tests.export.export_helpers import export_tiny

    export_tiny("vertex", tmp_path / "model.pt", dtype="float32", tf32=True)
    write_data(tmp_path / "data.lmp", structure("alloy"), ELEMENTS)
    script = (
        "units metal\natom_style atomic\nread_data data.lmp\n"
        "pair_style hermnet model.pt chunk 100\npair_coeff * * H C O Cu\nrun 0\n"
    )
    output = run_lammps(script, tmp_path).output
    assert "dtype float32 (TF32 matrix products on GPUs)" in output
    assert "chunked evaluation, at most 100 edges per chunk" in output
