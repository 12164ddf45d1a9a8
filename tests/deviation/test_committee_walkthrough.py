"""Issue 24, item 6: deploy/committee/run_committee.py runs end to end (--quick), and
`hermnet select` reads what its LAMMPS committee run writes (model_devi.out, traj.dump)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import ase.io
import numpy as np
import pytest

from hermnet.cli.main import main as hermnet_main
from hermnet.deviation import read_model_devi

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # about 1.5 minutes on 2 shared cores


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    """The --quick walk-through, run as documented; its output folder."""
    out = tmp_path_factory.mktemp("committee")
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    script = ROOT / "deploy" / "committee" / "run_committee.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--out", str(out), "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return out


def test_walkthrough_writes_committee_run_and_candidates(walkthrough):
    summary = json.loads((walkthrough / "summary.json").read_text())
    assert [p.name for p in sorted(walkthrough.glob("m?.pt"))] == [f"m{k}.pt" for k in range(4)]
    rows = read_model_devi(walkthrough / "md_heated" / "model_devi.out")
    steps = summary["settings"]["steps"]
    assert list(rows["step"]) == list(range(0, steps + 1, summary["settings"]["every"]))
    assert np.all(rows["max_devi_f"] > 0)  # four seeds disagree somewhere
    assert summary["selection"]["frames"] == len(rows["step"])
    assert (walkthrough / "candidates.extxyz").exists()
    assert summary["lo"] == pytest.approx(summary["held_out_max_devi_f"])


def test_select_reads_the_lammps_run(walkthrough, tmp_path, capsys):
    """Thresholds that split the run: the frames at or above the median are picked, with
    the dump's elements and positions, matched to their rows by step."""
    work = walkthrough / "md_heated"
    rows = read_model_devi(work / "model_devi.out")
    lo = float(np.median(rows["max_devi_f"]))
    out = tmp_path / "candidates.extxyz"
    args = ["select", str(work / "model_devi.out"), str(work / "traj.dump")]
    assert hermnet_main([*args, "--lo", repr(lo), "--hi", "1e3", "-o", str(out)]) == 0
    assert "candidates" in capsys.readouterr().out
    picked = ase.io.read(out, index=":")
    expected = [int(s) for s, v in zip(rows["step"], rows["max_devi_f"], strict=True) if v >= lo]
    assert [a.info["model_devi_step"] for a in picked] == expected
    dump = {a.info["timestep"]: a for a in ase.io.read(work / "traj.dump", index=":")}
    for atoms in picked:
        frame = dump[atoms.info["model_devi_step"]]
        assert set(atoms.get_chemical_symbols()) == {"Co", "Cr", "Fe", "Ni"}
        assert atoms.get_chemical_symbols() == frame.get_chemical_symbols()
        np.testing.assert_allclose(atoms.positions, frame.positions, atol=1e-8)
        assert atoms.info["max_devi_f"] >= lo


def test_bench_measures_the_walkthrough(walkthrough):
    """bench/committee_deviation.py --quick on the same folder (results stay there)."""
    sys.path.insert(0, str(ROOT))
    from bench.committee_deviation import main as bench_main

    res = bench_main(["--out", str(walkthrough), "--quick"])
    assert (walkthrough / "committee_deviation.json").exists()
    assert (walkthrough / "committee_deviation.png").exists()
    assert -1.0 <= res["held_out"]["spearman_per_atom"] <= 1.0
    # LAMMPS' model_devi.out equals the same deviation computed in Python (to its %19.6e)
    assert res["heated"]["lammps_vs_python_max_rel_diff"] < 1e-6
