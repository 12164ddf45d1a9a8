"""Fixtures for the data-layer tests: where the shared reference data lives."""

import os
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (override with HERMNET_SHARED_DATA); skip the test if absent."""
    root = Path(os.environ.get("HERMNET_SHARED_DATA", _DEFAULT)).resolve()
    if not root.is_dir():
        pytest.skip(f"shared reference data not found at {root}; set HERMNET_SHARED_DATA")
    return root
