"""Issue 22, item 6: `hermnet info` says what it checked about ghost exchange, and a
self-check that could not run is not reported as one that differs."""

import json

import pytest
import torch

from hermnet.cli.main import main
from hermnet.export import keys
from tests.export.export_helpers import export_tiny

pytest.importorskip("hermnet._core", reason="the C++ core is not built")


def with_metadata(path, out, **changes):
    """A copy of an exported model with metadata entries replaced."""
    extra = {keys.METADATA_FILE: ""}
    module = torch.jit.load(str(path), _extra_files=extra)
    meta = {**json.loads(extra[keys.METADATA_FILE]), **changes}
    torch.jit.save(module, str(out), _extra_files={keys.METADATA_FILE: json.dumps(meta)})
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.pt"
    export_tiny("pair", path, fused=False)
    return path


def test_info_runs_the_hop_by_hop_path_before_saying_it_works(exported, capsys):
    assert main(["info", str(exported)]) == 0
    out = capsys.readouterr().out
    assert "(LAMMPS `ghosts exchange` works)" not in out  # said from the metadata alone
    assert "hop interface  v1 (for LAMMPS `ghosts exchange` and `chunk`" in out
    assert (
        "ghosts exchange       verified: hop by hop through the C++ core, the self-check "
        "frame matches" in out
    )


def test_info_on_a_hop_interface_it_cannot_run(exported, tmp_path, capsys):
    newer = with_metadata(exported, tmp_path / "newer.pt", **{keys.METADATA_HOP_INTERFACE: 99})
    assert main(["info", str(newer)]) == 1
    out = capsys.readouterr().out
    assert "works" not in out
    assert (
        f"hop interface  v99, newer than this hermnet's v{keys.HOP_INTERFACE_VERSION}: LAMMPS "
        "`ghosts exchange` and `chunk` cannot run it" in out
    )
    assert "C++ core              self-check could not run: " in out
    assert "hop interface version 99, newer than this core" in out
    assert "ghosts exchange       not verified: the C++ core's hop-by-hop evaluation did not" in out
    assert "differs" not in out and "FAILED" not in out


def test_info_on_a_model_without_hop_methods(exported, tmp_path, capsys):
    extra = {keys.METADATA_FILE: ""}
    torch.jit.load(str(exported), _extra_files=extra)
    meta = json.loads(extra[keys.METADATA_FILE])
    del meta[keys.METADATA_HOP_INTERFACE]
    old = tmp_path / "old.pt"
    module = torch.jit.load(str(exported))
    torch.jit.save(module, str(old), _extra_files={keys.METADATA_FILE: json.dumps(meta)})
    assert main(["info", str(old)]) == 0
    out = capsys.readouterr().out
    assert "hop interface  none: re-export for LAMMPS `ghosts exchange`" in out
    assert "ghosts exchange       not available (no hop-by-hop methods in the file)" in out
