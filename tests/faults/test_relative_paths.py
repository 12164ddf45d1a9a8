"""Issue 22, item 8 (and 6): one rule for relative paths, stated in every message about a
missing file and in the README."""

from pathlib import Path

import pytest

from hermnet.cli.main import main
from hermnet.files import PATH_RULE
from tests.faults.helpers import config, frames

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_rule_names_both_starting_folders():
    assert "starts from the working folder" in PATH_RULE
    assert "from the config file's folder" in PATH_RULE


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["train", "missing.yaml"], "training config missing.yaml"),
        (["evaluate", "missing.pt", "data.extxyz"], "model missing.pt"),
        (["export", "missing.pt", "-o", "model.pt"], "checkpoint missing.pt"),
        (["info", "missing.pt"], "model missing.pt"),
        (["lammps-data", "s.extxyz", "-o", "s.data", "--model", "missing.pt"], "model missing.pt"),
    ],
)
def test_a_missing_file_on_the_command_line(args, what, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    name = what.split()[-1]
    assert capsys.readouterr().err == (
        f"hermnet: error: {what} does not exist (looked for {tmp_path / name}; {PATH_RULE})\n"
    )


def test_a_missing_data_file_in_a_config(tmp_path, capsys):
    path = config(tmp_path, frames(4))
    (tmp_path / "val.extxyz").unlink()
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'val.extxyz'}: no such file or folder" in err
    assert PATH_RULE in err


def test_the_readme_states_the_same_rule():
    text = " ".join(README.read_text().split())
    assert (
        "a path written in a config file (data files, `output`, `init_from`, and paths given "
        "with `--set`, which edits that file) starts from the config file's folder; a path "
        "given to a command as an argument or option" in text
    )
