"""Export: a self-describing TorchScript model, its loader, self-check and the C++ core.

    export_checkpoint("best.pt", "model.pt")        # what `hermnet export` does
    model = load_exported("model.pt")               # TorchScript in Python
    model.self_check().passed
    core = load_core("model.pt")                    # the C++ core (hermnet._core)

The contract (inputs, outputs, metadata keys) is hermnet.export.keys.
"""

from hermnet.export.errors import ExportError, ModelFileError
from hermnet.export.exporter import export_checkpoint, export_potential
from hermnet.export.loader import ExportedModel, is_exported_model, load_exported, read_metadata
from hermnet.export.selfcheck import SelfCheckResult

__all__ = [
    "ExportError",
    "ExportedModel",
    "ModelFileError",
    "SelfCheckResult",
    "export_checkpoint",
    "export_potential",
    "is_exported_model",
    "load_exported",
    "load_core",
    "read_metadata",
]


def load_core(path, device: str = "cpu"):
    """The exported model through the C++ core (imported lazily: it needs the extension)."""
    from hermnet.export.core import load_core as _load_core

    return _load_core(path, device)
