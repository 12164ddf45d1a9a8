"""deploy/lammps/in.any_nvt runs with any model: `hermnet lammps-data` gives its inputs."""

from pathlib import Path

from ase.io import write

from hermnet.cli.main import main
from hermnet.lammps.run import run_lammps
from tests.model.helpers import cu_h_cell

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "lammps" / "in.any_nvt"


def test_any_model_example_runs(models, tmp_path, capsys):
    write(tmp_path / "my.extxyz", cu_h_cell())
    data = tmp_path / "system.data"
    command = ["lammps-data", str(tmp_path / "my.extxyz"), "-o", str(data)]
    assert main([*command, "--model", str(models["pair"])]) == 0
    elements = capsys.readouterr().out.split("pair_coeff      * * ")[1].strip()
    assert elements == "H C O Cu"
    script = EXAMPLE.read_text()
    for name, value in (
        ("model", str(models["pair"])),
        ("data", str(data)),
        ("elements", f'"{elements}"'),
        ("steps", "5"),
    ):
        script = script.replace(f"variable {name} index", f"variable {name} index {value} #", 1)
    run = run_lammps(script, tmp_path)
    assert "Loop time" in run.output and run.error is None
