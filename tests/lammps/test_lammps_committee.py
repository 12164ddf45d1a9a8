"""pair_style hermnet with a committee: model deviation in LAMMPS equals hermnet.deviation.

The oracle is hermnet.deviation (DeePMD-kit's definitions) applied to the forces, energies
and virials that each exported model gives in Python. LAMMPS reports the deviation three
ways: model_devi.out (6 digits), `compute pair hermnet` (values 6-12, full precision) and the
per-atom `devi_f` that `fix pair ... hermnet devi_f 1` exposes (dumped at %.17g).
"""

import shutil

import numpy as np
import pytest

from hermnet.deviation import COLUMNS, format_header, frame_deviation, read_model_devi
from hermnet.export import export_potential, load_exported
from hermnet.lammps.data import write_data
from hermnet.lammps.run import run_lammps
from tests.export.export_helpers import frame_of
from tests.lammps.lammps_helpers import boundary, max_relative, structure
from tests.model.helpers import ELEMENTS, alloy, tiny_config, tiny_potential

KIND = "pair"
# compute pair hermnet: values 6-12 are the model_devi.out columns after the step
DEVI = " ".join(f"c_hs[{k}]" for k in range(6, 13))


def export_seed(path, seed: int, **overrides):
    """export_tiny with the weights of another seed (a committee member)."""
    potential = tiny_potential(KIND, seed=seed, **overrides)
    frame = frame_of(alloy(n_repeat=1, seed=3), "alloy-4 atoms")
    config = tiny_config(KIND, **overrides)
    export_potential(potential, config, path, frame, dtype="float64", training_data="tests")
    return path


@pytest.fixture(scope="module")
def committee(tmp_path_factory, plugin):
    """Paths: m0, m1 (seeds 0 and 1), m0copy (the same file as m0), far (cutoff 3.0)."""
    folder = tmp_path_factory.mktemp("committee")
    paths = {"m0": export_seed(folder / "m0.pt", 0), "m1": export_seed(folder / "m1.pt", 1)}
    paths["m0copy"] = folder / "m0copy.pt"
    shutil.copy(paths["m0"], paths["m0copy"])
    paths["far"] = export_seed(folder / "far.pt", 2, cutoff=3.0)
    return paths


def script(atoms, models, options="", before="", after="", run="run 0") -> str:
    return f"""units metal
atom_style atomic
boundary {boundary(atoms)}
{before}
read_data data.lmp
pair_style hermnet {" ".join(str(m) for m in models)} {options}
pair_coeff * * {" ".join(ELEMENTS)}
fix devi all pair 1 hermnet devi_f 1
compute hs all pair hermnet
thermo_style custom step pe {DEVI}
thermo_modify format float %20.15g
dump d all custom 1 atoms.dump id f_devi fx fy fz
dump_modify d format float %.17g sort id
{after}
{run}
print "{" ".join(f"$({c}:%.17g)" for c in DEVI.split())}" file columns.txt
"""


def lammps_deviation(workdir, atoms, models, options="", nprocs=1, before=""):
    """Columns (7,), per-atom deviation (n,) and forces (n, 3) of `run 0`, and the run."""
    workdir.mkdir(parents=True, exist_ok=True)
    write_data(workdir / "data.lmp", atoms, ELEMENTS)
    run = run_lammps(script(atoms, models, options, before), workdir, nprocs=nprocs)
    table = np.loadtxt(workdir / "atoms.dump", skiprows=9, ndmin=2)
    columns = np.loadtxt(workdir / "columns.txt")
    return {"columns": columns, "atomic": table[:, 1], "forces": table[:, 2:5], "run": run}


def python_deviation(atoms, models, **relative):
    outputs = [
        load_exported(m).evaluate(
            atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, compute_virial=True
        )
        for m in models
    ]
    energies = [float(o["energy"]) for o in outputs]
    forces = [o["forces"].double().numpy() for o in outputs]
    virials = [o["virial"].double().numpy().reshape(3, 3) for o in outputs]
    return frame_deviation(energies, forces, virials, **relative), forces[0]


def test_identical_models_give_zero_deviation(tmp_path, committee):
    atoms = structure("alloy")
    got = lammps_deviation(tmp_path, atoms, [committee["m0"], committee["m0copy"]])
    assert np.all(got["columns"] == 0.0)
    assert np.all(got["atomic"] == 0.0)
    assert "HermNet: committee of 2 models" in got["run"].output


@pytest.mark.parametrize("options", ["", "relative 0.5 relative_v 0.2"])
def test_pair_of_models_gives_the_python_deviation(tmp_path, committee, options):
    atoms = structure("alloy")
    models = [committee["m0"], committee["m1"]]
    got = lammps_deviation(tmp_path, atoms, models, f"{options} atomic")
    relative = {"relative": 0.5, "relative_v": 0.2} if options else {}
    expected, forces0 = python_deviation(atoms, models, **relative)
    assert expected.max_devi_f > 1e-3  # the two seeds do differ
    assert max_relative(got["atomic"], expected.atomic_f) < 1e-9
    assert max_relative(got["columns"], expected.row()) < 1e-9
    # Model 0 alone drives the dynamics.
    assert max_relative(got["forces"], forces0) < 1e-9
    # model_devi.out: DeePMD-kit's header and columns, one row at step 0, atoms by ID.
    lines = (tmp_path / "model_devi.out").read_text().splitlines()
    assert lines[0] == format_header(atomic=True)
    table = read_model_devi(tmp_path / "model_devi.out")
    assert list(table["step"]) == [0]
    for k, name in enumerate(COLUMNS[1:]):
        assert table[name][0] == pytest.approx(expected.row()[k], rel=1e-5, abs=1e-12)
    np.testing.assert_allclose(table["atomic_f"][0], expected.atomic_f, rtol=1e-5, atol=1e-12)


def test_rows_every_out_freq_steps_in_deepmd_widths(tmp_path, committee):
    atoms = structure("alloy")
    write_data(tmp_path / "data.lmp", atoms, ELEMENTS)
    models = [committee["m0"], committee["m1"], committee["m0copy"]]
    text = script(
        atoms,
        models,
        "out_freq 5 out_file devi.out",
        after="velocity all create 300 1\nfix nve all nve",
        run="run 10",
    )
    run_lammps(text, tmp_path)
    lines = (tmp_path / "devi.out").read_text().splitlines()
    assert lines[0] == format_header()
    assert lines[0].split()[1:] == list(COLUMNS)  # pair_style deepmd's names, devi_e last
    assert [int(line[:12]) for line in lines[1:]] == [0, 5, 10]
    assert all(len(line) == 12 + 19 * 7 for line in lines[1:])


def compare_ranks(tmp_path, committee, name, ranks, options="", before=""):
    atoms = structure(name)
    models = [committee["m0"], committee["m1"], committee["m0copy"]]
    one = lammps_deviation(tmp_path / "1", atoms, models, options)
    expected, _ = python_deviation(atoms, models)
    assert max_relative(one["atomic"], expected.atomic_f) < 1e-9
    runs = {}
    for n in ranks:
        runs[n] = lammps_deviation(tmp_path / str(n), atoms, models, options, n, before)
        for key in ("columns", "atomic", "forces"):
            err = max_relative(runs[n][key], one[key])
            assert err < 1e-10, f"{n} ranks, {key}: {err:.3g}"
    return runs


def test_two_and_four_ranks_agree_with_one(tmp_path, committee):
    compare_ranks(tmp_path, committee, "alloy", [2, 4])


@pytest.mark.slow
def test_empty_ranks_and_deep_ghosts_agree_with_one(tmp_path, committee):
    """A molecule cut into 4 slabs (outer ranks own no atom), ghost exchange and deep."""
    runs = compare_ranks(tmp_path / "x", committee, "molecule", [4], before="processors * 1 1")
    assert "Nlocal:" in runs[4]["run"].output
    compare_ranks(tmp_path / "deep", committee, "alloy", [2], options="ghosts deep")


def test_mismatched_committee_is_refused(tmp_path, committee):
    atoms = structure("alloy")
    write_data(tmp_path / "data.lmp", atoms, ELEMENTS)
    run = run_lammps(script(atoms, [committee["m0"], committee["far"]]), tmp_path, check=False)
    assert run.returncode == 1 and run.error is not None, run.output[-2000:]
    assert "committee's models differ" in run.error
    assert str(committee["far"]) in run.error and "cutoff 3 Å vs 3.5 Å" in run.error


def test_committee_keyword_with_one_model_is_refused(tmp_path, committee):
    atoms = structure("alloy")
    write_data(tmp_path / "data.lmp", atoms, ELEMENTS)
    text = f"units metal\nread_data data.lmp\npair_style hermnet {committee['m0']} out_freq 10\n"
    run = run_lammps(text, tmp_path, check=False)
    assert run.returncode == 1 and "committee keyword" in (run.error or ""), run.output[-2000:]


def test_fix_halt_stops_the_run_when_the_deviation_passes_a_threshold(tmp_path, committee):
    atoms = structure("alloy")
    write_data(tmp_path / "data.lmp", atoms, ELEMENTS)
    expected, _ = python_deviation(atoms, [committee["m0"], committee["m1"]])
    threshold = 0.5 * expected.max_devi_f  # passed from the start
    after = f"""velocity all create 300 1
fix nve all nve
compute maxdevi all reduce max f_devi
variable maxdevi equal c_maxdevi
fix stop all halt 1 v_maxdevi > {threshold!r} error soft"""
    text = script(atoms, [committee["m0"], committee["m1"]], after=after, run="run 50")
    run = run_lammps(text, tmp_path)
    assert "Fix halt condition for fix-id stop met on step 1" in run.output, run.output[-3000:]


def test_deploy_example_halts_and_dumps_candidates(tmp_path, committee):
    """deploy/lammps/in.committee_halt as documented, on the tiny committee (short run)."""
    from pathlib import Path

    atoms = structure("alloy")
    write_data(tmp_path / "system.data", atoms, ELEMENTS)
    expected, _ = python_deviation(atoms, [committee["m0"], committee["m1"]])
    example = Path(__file__).parents[2] / "deploy" / "lammps" / "in.committee_halt"
    settings = f"""variable models index "{committee["m0"]} {committee["m1"]}"
variable elements index "{" ".join(ELEMENTS)}"
variable steps index 40
variable devi_every index 5
variable lo index 0.0
variable threshold index {2.0 * expected.max_devi_f!r}
variable temperature index 3000.0
"""
    run = run_lammps(settings + example.read_text(), tmp_path)
    table = read_model_devi(tmp_path / "model_devi.out")
    assert table["step"][0] == 0 and np.all(np.diff(table["step"]) == 5)
    assert (tmp_path / "candidates.dump").read_text().count("ITEM: TIMESTEP") == len(table["step"])
    halted = "Fix halt condition for fix-id stop met" in run.output
    assert halted == bool(np.any(table["max_devi_f"] > 2.0 * expected.max_devi_f))
