"""bench/accuracy/curves.py: best validation error by equal time and by equal epoch."""

import pytest

from bench.accuracy.curves import best_until, read_curve, table

HEADER = "epoch,lr,val_force_mae,val_energy_mae,time,elapsed\n"


def write_metrics(path, rows):
    path.write_text(HEADER + "".join(f"{e},1e-3,{f},{en},1.0,{s}\n" for e, f, en, s in rows))
    return path


def test_best_until_takes_the_minimum_so_far_and_nothing_past_the_end(tmp_path):
    # epoch, force, energy, elapsed seconds: force rises at epoch 3 (best stays 0.020).
    rows = [(1, 0.050, 0.004, 60), (2, 0.020, 0.003, 120), (3, 0.030, 0.002, 180)]
    curve = read_curve(write_metrics(tmp_path / "metrics.csv", rows), "val_force_mae")
    assert curve == [(1, 1.0, 0.05), (2, 2.0, 0.02), (3, 3.0, 0.03)]
    assert best_until(curve, 1, 1.5) == 0.05
    assert best_until(curve, 1, 3.0) == 0.02
    assert best_until(curve, 0, 2) == 0.02
    assert best_until(curve, 1, 5.0) is None  # the run stopped at 3 minutes


def test_table_lines_up_runs_of_different_speed(tmp_path):
    fast = read_curve(
        write_metrics(tmp_path / "a.csv", [(e, 0.1 / e, 0.0, 60 * e) for e in range(1, 11)]),
        "val_force_mae",
    )
    slow = read_curve(
        write_metrics(tmp_path / "b.csv", [(e, 0.05 / e, 0.0, 120 * e) for e in range(1, 6)]),
        "val_force_mae",
    )
    by_time = table({"fast": fast, "slow": slow}, 1, (5, 10, 30), "min")
    assert by_time[0] == "| run | 5 min | 10 min | end |"  # nobody reached 30 minutes
    assert by_time[2] == "| fast | 20.0 | 10.0 | 10.0 (10 ep, 10 min) |"
    assert by_time[3] == "| slow | 25.0 | 10.0 | 10.0 (5 ep, 10 min) |"
    by_epoch = table({"fast": fast, "slow": slow}, 0, (5, 10), "ep")
    assert by_epoch[3] == "| slow | 10.0 |  | 10.0 (5 ep, 10 min) |"


def test_unknown_metric_names_the_columns(tmp_path):
    path = write_metrics(tmp_path / "metrics.csv", [(1, 0.05, 0.004, 60)])
    with pytest.raises(SystemExit, match="val_force_mae, val_energy_mae"):
        read_curve(path, "val_stress_mae")
