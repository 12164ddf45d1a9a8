import pytest

from hermnet.lammps import plugin_path
from tests.export.export_helpers import export_tiny
from tests.model.helpers import MODEL_KINDS


@pytest.fixture(scope="session")
def plugin():
    """hermnetplugin.so: a missing plugin is a failure (the build is part of the package)."""
    return plugin_path()


@pytest.fixture(scope="session")
def models(tmp_path_factory, plugin):
    """A tiny float64 model (H, C, O, Cu; cutoff 3.5 Å, 2 layers) per variant."""
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for variant in MODEL_KINDS:
        paths[variant] = folder / f"{variant}.pt"
        export_tiny(variant, paths[variant])
    return paths
