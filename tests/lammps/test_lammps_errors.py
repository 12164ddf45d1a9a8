"""Every misuse stops LAMMPS with an ERROR line that names the fix (exit code 1, no crash)."""

import json

import pytest
import torch

from hermnet.export import keys
from hermnet.lammps.data import write_data
from hermnet.lammps.run import run_lammps
from tests.lammps.lammps_helpers import structure
from tests.model.helpers import ELEMENTS


def run_script(tmp_path, pair: str, units="metal", settings="", nprocs=1, n_types=4):
    atoms = structure("alloy")
    write_data(tmp_path / "data.lmp", atoms, ELEMENTS[:n_types] if n_types <= 4 else ELEMENTS)
    script = f"""units {units}
atom_style atomic
{settings}
read_data data.lmp
{pair}
run 0
"""
    run = run_lammps(script, tmp_path, nprocs=nprocs, check=False)
    assert run.returncode == 1, run.output[-2000:]
    assert run.error is not None, run.output[-2000:]
    return run.error


def bad_self_check_model(path, out):
    extra = {keys.METADATA_FILE: ""}
    module = torch.jit.load(str(path), _extra_files=extra)
    meta = json.loads(extra[keys.METADATA_FILE])
    meta[keys.METADATA_SELF_CHECK][keys.CHECK_FORCES][2][1] += 1e-3
    torch.jit.save(module, str(out), _extra_files={keys.METADATA_FILE: json.dumps(meta)})
    return out


def test_missing_model_file(tmp_path):
    error = run_script(tmp_path, "pair_style hermnet missing.pt\npair_coeff * * H C O Cu")
    assert "model file 'missing.pt' does not exist or is not readable" in error
    assert "hermnet export" in error


def test_file_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.pt").write_text("not a model\n")
    error = run_script(tmp_path, "pair_style hermnet notes.pt\npair_coeff * * H C O Cu")
    assert "is not a TorchScript archive" in error and "hermnet export" in error


def test_torchscript_file_without_metadata(tmp_path):
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(tmp_path / "plain.pt"))
    error = run_script(tmp_path, "pair_style hermnet plain.pt\npair_coeff * * H C O Cu")
    assert "is not an exported HermNet model" in error and "hermnet export" in error


def test_element_the_model_lacks(tmp_path, models):
    error = run_script(tmp_path, f"pair_style hermnet {models['pair']}\npair_coeff * * H C O Ni")
    assert "element 'Ni' (atom type 4) is not in the model" in error
    assert "the model's elements are: H C O Cu" in error


def test_wrong_number_of_element_names(tmp_path, models):
    error = run_script(tmp_path, f"pair_style hermnet {models['pair']}\npair_coeff * * H C O")
    assert "needs one element name (or NULL) per atom type" in error
    assert "4 atom type(s) but 3 name(s)" in error


def test_newton_pair_off(tmp_path, models):
    pair = f"pair_style hermnet {models['pair']}\npair_coeff * * H C O Cu"
    error = run_script(tmp_path, pair, settings="newton off")
    assert "requires newton_pair on" in error and "newton on" in error


@pytest.mark.parametrize("units", ["lj", "si"])
def test_units_other_than_metal_or_real(tmp_path, models, units):
    error = run_script(
        tmp_path, f"pair_style hermnet {models['pair']}\npair_coeff * * H C O Cu", units=units
    )
    assert f"not `units {units}`" in error and "use `units metal`" in error


def test_failing_self_check(tmp_path, models):
    bad = bad_self_check_model(models["vertex"], tmp_path / "bad.pt")
    error = run_script(tmp_path, f"pair_style hermnet {bad.name}\npair_coeff * * H C O Cu")
    assert "self-check" in error and "forces differs at flat index 7" in error
    assert "gives different results" in error and "could not run" not in error
    assert "check no" in error
    # `check no` skips it (the model itself is fine)
    (tmp_path / "results.txt").unlink(missing_ok=True)
    atoms = structure("alloy")
    write_data(tmp_path / "data.lmp", atoms, ELEMENTS)
    run = run_lammps(
        "units metal\natom_style atomic\nread_data data.lmp\n"
        "pair_style hermnet bad.pt check no\npair_coeff * * H C O Cu\nrun 0\n",
        tmp_path,
    )
    assert "HermNet: self-check skipped" in run.output


def test_deep_ghosts_with_comm_mode_multi_name_the_cutoff(tmp_path, models):
    error = run_script(
        tmp_path,
        f"pair_style hermnet {models['pair']} ghosts deep\npair_coeff * * H C O Cu",
        settings="neighbor 2.0 multi\ncomm_modify mode multi",
        nprocs=2,
    )
    assert "comm_modify mode single cutoff 16" in error


def test_remap_on_two_ranks_points_to_exchange(tmp_path, models):
    error = run_script(
        tmp_path, f"pair_style hermnet {models['pair']} ghosts remap\npair_coeff * *", nprocs=2
    )
    assert "works on one rank only" in error and "ghosts exchange" in error


def test_unknown_ghost_mode(tmp_path, models):
    error = run_script(
        tmp_path, f"pair_style hermnet {models['pair']} ghosts shallow\npair_coeff * *"
    )
    assert "ghosts must be auto, remap, exchange or deep, not 'shallow'" in error


def test_exchange_with_a_model_without_hop_methods(tmp_path, models):
    """A file exported before the hop methods existed: re-export, or use the deep shell."""
    extra = {keys.METADATA_FILE: ""}
    module = torch.jit.load(str(models["pair"]), _extra_files=extra)
    meta = json.loads(extra[keys.METADATA_FILE])
    del meta[keys.METADATA_HOP_INTERFACE]
    old = tmp_path / "old.pt"
    torch.jit.save(module, str(old), _extra_files={keys.METADATA_FILE: json.dumps(meta)})
    error = run_script(tmp_path, f"pair_style hermnet {old}\npair_coeff * * H C O Cu", nprocs=2)
    assert "hermnet export" in error and "ghosts deep" in error


def test_unknown_keyword(tmp_path, models):
    error = run_script(tmp_path, f"pair_style hermnet {models['pair']} devise cpu\npair_coeff * *")
    assert "unknown keyword 'devise'" in error and "device cpu|cuda|cuda:N|auto" in error


@pytest.mark.parametrize("value", ["0", "-3", "lots"])
def test_bad_chunk_size(tmp_path, models, value):
    error = run_script(
        tmp_path, f"pair_style hermnet {models['pair']} chunk {value}\npair_coeff * *"
    )
    assert "chunk must be a positive number of edges" in error or "Expected integer" in error


def test_bad_cuda_device_name(tmp_path, models):
    error = run_script(
        tmp_path, f"pair_style hermnet {models['pair']} device cuda:x\npair_coeff * *"
    )
    assert "device must be cpu, cuda, cuda:N or auto, not 'cuda:x'" in error


def test_device_choice(tmp_path, models):
    """`device auto` takes a GPU when libtorch sees one; `device cuda` without one stops."""
    pair = f"pair_style hermnet {models['pair']} device {{}}\npair_coeff * * H C O Cu"
    write_data(tmp_path / "data.lmp", structure("alloy"), ELEMENTS)
    script = "units metal\natom_style atomic\nread_data data.lmp\n{}\nrun 0\n"
    run = run_lammps(script.format(pair.format("auto")), tmp_path)
    gpu = torch.cuda.is_available()
    assert ("device cuda:0" if gpu else "device cpu,") in run.output
    if not gpu:
        error = run_script(tmp_path, pair.format("cuda"))
        assert "sees no CUDA GPU" in error and "use cpu" in error


@pytest.mark.parametrize("nprocs", [1, 2])
def test_overlapping_atoms_stop_the_run(tmp_path, models, nprocs):
    """Two atoms on one site give NaN in the model: LAMMPS stops instead of moving on."""
    atoms = structure("alloy")
    atoms.positions[5] = atoms.positions[4]
    write_data(tmp_path / "data.lmp", atoms, ELEMENTS)
    script = f"""units metal
atom_style atomic
read_data data.lmp
pair_style hermnet {models["vertex"]}
pair_coeff * * {" ".join(ELEMENTS)}
run 0
"""
    run = run_lammps(script, tmp_path, nprocs=nprocs, check=False)
    assert run.returncode != 0
    assert "non-finite" in run.output and "stopped rather than continue" in run.output


def test_self_check_that_cannot_run_is_not_called_different(tmp_path, models):
    """A hop interface newer than the core: the hop-by-hop check cannot run at all."""
    extra = {keys.METADATA_FILE: ""}
    module = torch.jit.load(str(models["vertex"]), _extra_files=extra)
    meta = json.loads(extra[keys.METADATA_FILE])
    meta[keys.METADATA_HOP_INTERFACE] = 99
    torch.jit.save(
        module, str(tmp_path / "newer.pt"), _extra_files={keys.METADATA_FILE: json.dumps(meta)}
    )
    error = run_script(tmp_path, "pair_style hermnet newer.pt\npair_coeff * * H C O Cu")
    assert "self-check could not run through the C++ path" in error
    assert "no result was compared" in error
    assert "hop interface version 99, newer than this core" in error
    assert "different results" not in error and "check no" in error
