"""The `hermnet` command: a registry of subcommands, one module each.

Each subcommand is a module hermnet/cli/<name>.py exposing

    add_parser(subparsers) -> argparse.ArgumentParser   # registers `hermnet <name>`
    run(args) -> int | None                             # the exit status (None means 0)

and is listed in SUBCOMMANDS below. Errors that are the user's to fix (bad data, config
or checkpoint) print `hermnet: error: <message>` and exit with status 2, no traceback.
"""

import argparse
import importlib
import sys
from collections.abc import Sequence

# ---------------------------------------------------------------------------------------
# REGISTRATION POINT: subcommand modules, in the order `hermnet --help` lists them.
# To add a subcommand, create hermnet/cli/<name>.py with add_parser() and run() and list
# it here.
SUBCOMMANDS: tuple[str, ...] = (
    "train",
    "evaluate",
    "export",
    "info",
    "lammps-data",
    "deviation",
    "select",
)
# ---------------------------------------------------------------------------------------

USAGE_ERROR = 2


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("hermnet")
    except Exception:
        return "unknown"


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions reported as one line: the message is meant for the user."""
    from hermnet.data import DataError
    from hermnet.export.errors import ModelFileError
    from hermnet.files import WriteError
    from hermnet.model.checkpoint import CheckpointError

    errors: list[type[BaseException]] = [DataError, CheckpointError, FileNotFoundError]
    errors += [WriteError, ModelFileError]
    from hermnet.committee import CommitteeError, SelectionError
    from hermnet.deviation import ModelDeviFileError

    errors += [CommitteeError, SelectionError, ModelDeviFileError]
    try:
        from hermnet.train.config import ConfigError

        errors.append(ConfigError)
    except ImportError:
        pass
    return tuple(errors)


def load_subcommands(names: Sequence[str] = SUBCOMMANDS) -> list:
    # A missing module is an install problem: let the ImportError say which one.
    return [importlib.import_module(f"hermnet.cli.{name.replace('-', '_')}") for name in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hermnet",
        description="HermNet interatomic potentials: train, evaluate, export.",
    )
    parser.add_argument("--version", action="version", version=f"hermnet {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in load_subcommands():
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    try:
        status = args._run(args)
    except _user_errors() as err:
        print(f"hermnet: error: {err}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("hermnet: interrupted", file=sys.stderr)
        return 130
    return 0 if status is None else int(status)


if __name__ == "__main__":
    sys.exit(main())
