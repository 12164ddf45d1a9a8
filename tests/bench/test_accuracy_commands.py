"""Every line of docs/results.md can be re-run: its recorded command, parsed by run.py
today, configures the model, data and training sections that line was trained with.

A shipped config that changes (a new default optimizer, say) must leave the older lines'
commands saying what they used; this test fails until they do.
"""

import json
import shlex

import pytest

import bench.accuracy.run as run
from hermnet.train.config import TrainConfig

RECORDS = sorted((run.RESULTS).glob("*.json"))


def test_there_are_recorded_lines():
    assert len(RECORDS) > 20


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_recorded_command_reproduces_the_recorded_config(path, tmp_path, monkeypatch):
    record = json.loads(path.read_text())
    words = shlex.split(record["command"])
    assert words[:2] == ["python", "bench/accuracy/run.py"], record["command"]
    args = run.build_parser().parse_args(words[2:])
    if args.init_from:  # configure() insists that the earlier run's checkpoint exists
        start = tmp_path / "runs" / "accuracy" / args.init_from / "best.pt"
        start.parent.mkdir(parents=True)
        start.write_bytes(b"")
        monkeypatch.setattr(run, "ROOT", tmp_path)
    name, raw = run.configure(args)
    assert name == record["name"]
    again = TrainConfig.from_dict(raw, base_dir=tmp_path)
    recorded = TrainConfig.from_dict(record["config"], base_dir=tmp_path)
    for section in ("model", "data", "training"):
        assert getattr(again, section) == getattr(recorded, section), section
