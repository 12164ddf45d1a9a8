"""Issue 22, item 7: the README's commands exist. Every `hermnet` command line in it parses
with today's options, and every file of the repository it names is there."""

import re
import shlex
from pathlib import Path

import pytest

from hermnet.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def hermnet_commands() -> list[str]:
    """`hermnet ...` lines of the README's code blocks, continuation lines joined."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    found = []
    for line in lines:
        match = re.search(r"\.venv/bin/hermnet (.*)", line.split("#")[0])
        if match:
            found.append(match.group(1).strip())
    return found


COMMANDS = hermnet_commands()


def test_the_readme_shows_every_subcommand_and_a_recipe():
    names = {shlex.split(c)[0] for c in COMMANDS}
    assert names == {"train", "evaluate", "export", "info", "lammps-data", "deviation", "select"}
    assert any("--recipe" in c for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_hermnet_command_parses(command, capsys):
    try:
        build_parser().parse_args(shlex.split(command))
    except SystemExit as err:  # argparse prints what it did not understand
        pytest.fail(f"README command `hermnet {command}` no longer parses: {capsys.readouterr()}")
        raise AssertionError from err


def test_files_the_readme_names_exist():
    named = set(re.findall(r"\b((?:deploy|bench|docs|hermnet/train/recipes)/[\w./-]+\w)", README))
    assert "deploy/lammps/in.any_nvt" in named
    missing = sorted(p for p in named if not (ROOT / p).exists() and "*" not in p)
    assert not missing, f"the README names files that do not exist: {missing}"


def test_no_example_that_does_not_exist_and_no_promise_of_what_exists():
    assert "in.alloy" not in README  # the example the README used to run
    first = README.split("\n\n")[1]
    assert "follow" not in first  # export, the C++ core and LAMMPS exist
