"""Data-parallel training with torchrun on CPU (gloo)."""

import csv
import os
import subprocess
import sys

import pytest
import torch
import torch.distributed

from hermnet.model.checkpoint import load_checkpoint

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed missing"),
]


def torchrun(config, nproc: int, env: dict) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        "hermnet.cli.main",
        "train",
        str(config),
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(command, capture_output=True, text=True, timeout=400, env=environment)


def test_two_processes_train_and_match_one_process_gradient(make_config, tmp_path):
    # One process, batch 20 (first step only matters here).
    one = tmp_path / "grad1.pt"
    config1 = make_config(name="one.yaml", output="one", epochs=1, batch_size=20)
    single = torchrun(config1, 1, {"HERMNET_TRAIN_DUMP_GRADIENTS": str(one)})
    assert single.returncode == 0, single.stderr[-3000:]

    # Two processes, batch 10 each, 2 epochs: trains, only rank 0 writes.
    two = tmp_path / "grad2.pt"
    config2 = make_config(name="two.yaml", output="two", epochs=2, batch_size=10)
    double = torchrun(config2, 2, {"HERMNET_TRAIN_DUMP_GRADIENTS": str(two)})
    assert double.returncode == 0, double.stderr[-3000:]
    assert "2 processes" in double.stdout

    g1, g2 = torch.load(one), torch.load(two)
    assert set(g1) == set(g2)
    for name, value in g1.items():
        torch.testing.assert_close(g2[name], value, rtol=1e-9, atol=1e-12, msg=name)

    out = tmp_path / "two"
    payload = load_checkpoint(out / "last.pt")
    assert payload["epoch"] == 2 and payload["world_size"] == 2
    assert payload["global_step"] == 2 * 5  # 100 structures / (2 x 10) per step
    assert len(payload["rng_per_rank"]) == 2
    assert (out / "best.pt").is_file() and (out / "parity_forces.png").is_file()
    with (out / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2]  # one writer, no duplicate rows
    assert float(rows[-1]["val_force_mae"]) > 0
