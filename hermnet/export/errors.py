"""Errors of the export layer (the C++ core raises hermnet._core.ModelError)."""


class ExportError(RuntimeError):
    """A model cannot be exported, or the exported file failed its self-check."""


class ModelFileError(RuntimeError):
    """A file is not a loadable exported HermNet model (says which and why)."""
