"""`hermnet deviation`, `hermnet select` and `hermnet train --seeds`."""

import ase.io
import numpy as np
import pytest
import torch

from hermnet.calculators import HermNetCalculator
from hermnet.cli.main import main
from hermnet.committee import CommitteeError, MemberInfo, check_committee
from hermnet.deviation import format_model_devi, frame_deviation, read_model_devi
from hermnet.export import export_potential
from tests.deviation.conftest import save_tiny
from tests.export.export_helpers import frame_of
from tests.faults import helpers as fault_helpers
from tests.model.helpers import alloy, cu_h_cell, tiny_config, tiny_potential


def trajectory(path, count: int = 4):
    frames = [alloy(n_repeat=1, seed=k) for k in range(count)]
    frames[-1].positions *= 0.9  # squeezed: the committee disagrees more
    ase.io.write(path, frames)
    return frames


def test_deviation_of_checkpoints_matches_the_calculator(pair_of_models, tmp_path, capsys):
    paths = [str(path) for path, _ in pair_of_models]
    frames = trajectory(tmp_path / "traj.extxyz")
    out = tmp_path / "md" / "model_devi.out"
    args = [*paths, str(tmp_path / "traj.extxyz"), "-o", str(out), "--frequency", "10"]
    assert main(["deviation", *args, "--atomic"]) == 0
    assert "4 frames, 2 models" in capsys.readouterr().out
    cols = read_model_devi(out)
    assert cols["step"].tolist() == [0, 10, 20, 30]
    for k, atoms in enumerate(frames):
        atoms.calc = HermNetCalculator(model=paths)
        atoms.get_potential_energy()
        expected = atoms.calc.results
        assert cols["max_devi_f"][k] == pytest.approx(expected["max_force_deviation"], rel=1e-6)
        np.testing.assert_allclose(cols["atomic_f"][k], expected["force_deviation"], rtol=1e-6)
        assert cols["devi_e"][k] == pytest.approx(expected["energy_deviation"], rel=1e-6)


def test_exported_models_run_through_the_core(tmp_path):
    models = [tmp_path / f"m{k}.pt" for k in range(2)]
    frame = frame_of(alloy(n_repeat=1, seed=3))
    for k, path in enumerate(models):
        potential = tiny_potential("pair", seed=k)
        export_potential(potential, tiny_config("pair"), path, frame, training_data="tests")
    trajectory(tmp_path / "traj.extxyz", count=2)
    out = tmp_path / "model_devi.out"
    args = ["deviation", *map(str, models), str(tmp_path / "traj.extxyz"), "-o", str(out)]
    assert main(args) == 0
    same = tmp_path / "same.out"
    args = ["deviation", str(models[0]), str(models[0]), str(tmp_path / "traj.extxyz")]
    assert main([*args, "-o", str(same)]) == 0
    assert (read_model_devi(out)["max_devi_f"] > 0).all()
    assert not read_model_devi(same)["max_devi_f"].any()


def test_mismatched_committee_is_refused_by_the_command(pair_of_models, tmp_path, capsys):
    other, _ = save_tiny(tmp_path / "other.pt", seed=3, cutoff=3.0)
    trajectory(tmp_path / "traj.extxyz", count=1)
    args = ["deviation", str(pair_of_models[0][0]), str(other), str(tmp_path / "traj.extxyz")]
    assert main([*args, "-o", str(tmp_path / "x.out")]) == 2
    err = capsys.readouterr().err
    assert "hermnet: error: the committee's models differ" in err and "cutoff 3 Å vs 4 Å" in err
    assert not (tmp_path / "x.out").exists()


def test_units_must_agree():
    a = MemberInfo("a.pt", ("Cu",), 4.0, (("energy", "eV"), ("length", "Å")))
    b = MemberInfo("b.pt", ("Cu",), 4.0, (("energy", "kcal/mol"), ("length", "Å")))
    with pytest.raises(CommitteeError, match=r"b.pt has units .*kcal/mol"):
        check_committee([a, b])


def write_devi(path, values):
    rng = np.random.default_rng(0)
    devs = []
    for value in values:
        forces = rng.normal(size=(2, 4, 3))
        forces[1] = forces[0]
        forces[1, 2, 0] += 2 * value  # atom 2 deviates by exactly `value`
        devs.append(frame_deviation([0.0, 0.0], forces, np.zeros((2, 3, 3))))
    path.write_text(format_model_devi(range(0, 10 * len(values), 10), devs))


def test_select_picks_frames_in_the_window(tmp_path, capsys):
    frames = trajectory(tmp_path / "traj.extxyz", count=5)
    write_devi(tmp_path / "model_devi.out", [0.01, 0.05, 0.2, 0.3, 1.5])
    out = tmp_path / "candidates.extxyz"
    args = ["select", str(tmp_path / "model_devi.out"), str(tmp_path / "traj.extxyz")]
    assert main([*args, "--lo", "0.05", "--hi", "0.3", "-o", str(out)]) == 0
    assert "1 of 5 frames below 0.05" in capsys.readouterr().out
    picked = ase.io.read(out, index=":")
    assert [a.info["model_devi_step"] for a in picked] == [10, 20]  # [lo, hi): 0.05, 0.2
    np.testing.assert_allclose(picked[0].positions, frames[1].positions, atol=1e-7)


def test_select_by_step_and_mismatch(tmp_path, capsys):
    frames = [alloy(n_repeat=1, seed=k) for k in range(2)]
    for atoms, step in zip(frames, (30, 10), strict=True):
        atoms.info["step"] = step
    ase.io.write(tmp_path / "traj.extxyz", frames)
    write_devi(tmp_path / "model_devi.out", [0.0, 0.1, 0.0, 0.2])  # steps 0, 10, 20, 30
    args = ["select", str(tmp_path / "model_devi.out"), str(tmp_path / "traj.extxyz")]
    out = tmp_path / "c.extxyz"
    assert main([*args, "--lo", "0.15", "--hi", "1", "-o", str(out)]) == 0
    assert [a.info["step"] for a in ase.io.read(out, index=":")] == [30]
    ase.io.write(tmp_path / "traj.extxyz", [cu_h_cell()])  # no step, 1 frame for 4 rows
    assert main([*args, "--lo", "0.15", "--hi", "1", "-o", str(out)]) == 2
    assert "4 rows but the trajectory has 1 frames" in capsys.readouterr().err


def test_seeds_make_one_run_per_member(tmp_path, monkeypatch, capsys):
    config = fault_helpers.config(tmp_path, fault_helpers.frames(4))
    runs = []

    def fake_train(cfg, resume=False, overwrite=False):
        cfg.output.mkdir(parents=True)
        runs.append((cfg.training.seed, cfg.output, resume))

    monkeypatch.setattr("hermnet.train.train", fake_train)
    assert main(["train", str(config), "--seeds", "3", "5"]) == 0
    assert runs == [(3, tmp_path / "run" / "seed3", False), (5, tmp_path / "run" / "seed5", False)]
    (tmp_path / "run" / "seed3" / "last.pt").write_bytes(b"")
    runs.clear()
    monkeypatch.setattr("hermnet.train.train", lambda cfg, **kw: runs.append((cfg, kw)))
    assert main(["train", str(config), "--seeds", "3", "5", "--resume"]) == 0
    # The member with a last.pt resumes; the other one has not started: it starts.
    assert [kw["resume"] for _, kw in runs] == [True, False]
    assert main(["train", str(config), "--seeds", "3", "3"]) == 2
    assert "two or more different seeds" in capsys.readouterr().err


@pytest.mark.slow
def test_seeds_train_real_members(tmp_path):
    config = fault_helpers.config(tmp_path, fault_helpers.frames(4), training={"epochs": 1})
    assert main(["train", str(config), "--seeds", "0", "1"]) == 0
    for seed in (0, 1):
        run = tmp_path / "run" / f"seed{seed}"
        payload = torch.load(run / "last.pt", weights_only=True)
        assert payload["config"]["training"]["seed"] == seed
    assert main(["train", str(config), "--seeds", "0", "1", "--resume"]) == 0
