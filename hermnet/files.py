"""Atomic writes of the files a user keeps: models, checkpoints, metrics, data files.

Every writer here fills a temporary file in the target's folder and renames it over the
target (os.replace is atomic on one file system), so a full disk, a read-only folder or a
killed process leaves either the previous file or the new one, never half of one. Failures
become one WriteError line that names the file, the cause and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


# The one rule for relative paths, quoted by every message about a missing file.
PATH_RULE = (
    "a relative path given on the command line, or in a --recipe run, starts from the "
    "working folder; one written in a config file, or with --set, from the config file's "
    "folder"
)


def require_file(path: str | os.PathLike, what: str) -> Path:
    """`path` as a Path, or FileNotFoundError saying where it was looked for and why."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{what} {path} does not exist (looked for {path.absolute()}; {PATH_RULE})"
        )
    return path


class WriteError(RuntimeError):
    """A file could not be written; the previous version, if any, is unchanged."""


def describe_failure(path: Path, err: BaseException) -> str:
    """One line: which file, why, what is left and what to do."""
    code = getattr(err, "errno", None)
    cause = _CAUSES.get(code) or (getattr(err, "strerror", None) or str(err) or type(err).__name__)
    kept = f"the previous {path.name} is unchanged" if path.exists() else "nothing was written"
    if code in (errno.ENOSPC, errno.EDQUOT):
        fix = "free some space or write to another folder"
    elif code in (errno.EROFS, errno.EACCES, errno.EPERM):
        fix = "write to a folder you can write to"
    else:
        fix = "check the folder and try again"
    return f"could not write {path}: {cause}; {kept}; {fix}"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path`.

    For writers that want a file name (matplotlib, torch.jit.save, LAMMPS). Any OSError,
    in the writer or in the rename, becomes a WriteError and the temporary file is removed.
    """
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        raise WriteError(describe_failure(path, err)) from err
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        handle.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def torch_save(obj: object, path: str | os.PathLike) -> None:
    """torch.save through memory: a write error in torch's C++ writer can abort the
    process, one in Python's cannot."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes(path, buffer.getvalue())


def _fsync(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())
