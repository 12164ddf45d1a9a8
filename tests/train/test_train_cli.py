"""The `hermnet` command line: registry, version, exit codes."""

import subprocess
import sys

import pytest

from hermnet.cli import main as cli


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("hermnet ")


def test_help_lists_registered_subcommands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "train" in out
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "--resume" in capsys.readouterr().out


def test_no_subcommand_is_a_usage_error(capsys):
    assert cli.main([]) == 2
    assert "usage" in capsys.readouterr().err


def test_every_subcommand_is_registered(capsys):
    names = [m.__name__ for m in cli.load_subcommands()]
    expected = ("train", "evaluate", "export", "info", "lammps_data", "deviation", "select")
    assert names == [f"hermnet.cli.{n}" for n in expected]
    with pytest.raises(ModuleNotFoundError, match="not_written_yet"):
        cli.load_subcommands(["not_written_yet"])
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    help_text = capsys.readouterr().out
    assert all(name in help_text for name in ("train", "evaluate", "export", "info"))


def test_user_error_has_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "hermnet.cli.main", "train", str(tmp_path / "none.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("hermnet: error: training config")
    assert "Traceback" not in result.stderr
