"""A full disk or an unwritable folder leaves the previous file intact and says so in one line.

Faults are injected where the operating system reports them: ENOSPC when the staged file
is flushed to disk, EACCES when the staged file is created.
"""

import errno

import numpy as np
import pytest
from ase.build import bulk
from ase.io import write

from hermnet import files
from hermnet.cli.main import main
from hermnet.files import WriteError
from hermnet.lammps.data import lammps_frame, write_data
from hermnet.model.checkpoint import load_checkpoint, save_checkpoint
from hermnet.train.run_log import RunLog
from tests.model.helpers import ethanol


def _raise(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, "injected fault")

    return fail


@pytest.fixture
def disk_full(monkeypatch):
    """From now on every staged file fails to reach the disk."""

    def start():
        monkeypatch.setattr(files, "_fsync", _raise(errno.ENOSPC))

    return start


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_text_keeps_the_previous_file(tmp_path, disk_full):
    target = tmp_path / "metrics.json"
    files.write_text(target, "old")
    disk_full()
    with pytest.raises(WriteError) as info:
        files.write_text(target, "new")
    assert str(info.value) == (
        f"could not write {target}: the disk is full; the previous metrics.json is "
        "unchanged; free some space or write to another folder"
    )
    assert target.read_text() == "old" and not _leftovers(tmp_path)


def test_unwritable_folder_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(files.tempfile, "mkstemp", _raise(errno.EACCES))
    with pytest.raises(WriteError, match="permission denied; nothing was written; write to a"):
        files.write_text(tmp_path / "new.txt", "x")


def test_checkpoint_keeps_the_previous_one(checkpoint, disk_full):
    path, _ = checkpoint
    before = path.read_bytes()
    disk_full()
    with pytest.raises(WriteError, match="the disk is full; the previous best.pt is unchanged"):
        save_checkpoint(path, {"model_config": {}, "model_state": {}})
    assert path.read_bytes() == before and not _leftovers(path.parent)
    load_checkpoint(path)


def test_export_keeps_the_previous_model_and_says_so_in_one_line(
    checkpoint, tmp_path, disk_full, capsys
):
    path, _ = checkpoint
    frame = tmp_path / "frame.extxyz"
    write(frame, ethanol())
    model = tmp_path / "out" / "model.pt"
    command = ["export", str(path), "-o", str(model), "--frame", str(frame), "--unfused"]
    assert main(command) == 0
    before = model.read_bytes()
    capsys.readouterr()
    disk_full()
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err == (
        f"hermnet: error: could not write {model}: the disk is full; the previous model.pt "
        "is unchanged; free some space or write to another folder\n"
    )
    assert model.read_bytes() == before and not _leftovers(model.parent)


def test_metrics_csv_keeps_earlier_epochs(tmp_path, disk_full):
    log = RunLog(tmp_path, enabled=True, tensorboard=False, resume_epoch=0)
    log.epoch(1, 1e-3, {"loss": 1.0}, {"force_mae": 0.5}, 1.0, 1.0)
    before = (tmp_path / "metrics.csv").read_text()
    disk_full()
    with pytest.raises(WriteError, match="metrics.csv is unchanged"):
        log.epoch(2, 1e-3, {"loss": 0.9}, {"force_mae": 0.4}, 1.0, 2.0)
    assert (tmp_path / "metrics.csv").read_text() == before
    assert before.count("\n") == 2  # header and epoch 1


def test_lammps_data_file_keeps_the_previous_one(tmp_path, disk_full):
    atoms = lammps_frame(bulk("Cu", "fcc", a=3.6, cubic=True))
    target = tmp_path / "system.data"
    write_data(target, atoms, ["Cu"])
    before = target.read_text()
    atoms.positions += np.full(3, 0.01)
    disk_full()
    with pytest.raises(WriteError, match="system.data is unchanged"):
        write_data(target, atoms, ["Cu"])
    assert target.read_text() == before
