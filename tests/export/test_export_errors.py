"""Files that are not loadable exported models give a clear error in Python and C++."""

import json

import pytest
import torch

from hermnet.export import ExportError, ModelFileError, export_potential, keys, load_exported
from hermnet.export.core import Model as CoreModel
from hermnet.export.core import ModelError
from hermnet.model import ModelConfig, build_model
from tests.export.export_helpers import export_tiny, frame_of
from tests.model.helpers import alloy


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "m.pt"
    export_tiny("vertex", path)
    return path


def resaved(good, out, edit):
    extra = {keys.METADATA_FILE: ""}
    module = torch.jit.load(str(good), _extra_files=extra)
    meta = json.loads(extra[keys.METADATA_FILE])
    edit(meta)
    torch.jit.save(module, str(out), _extra_files={keys.METADATA_FILE: json.dumps(meta)})
    return out


def both_fail(path, pattern):
    with pytest.raises(ModelFileError, match=pattern):
        load_exported(path)
    with pytest.raises(ModelError, match=pattern):
        CoreModel(str(path))


def test_text_file(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("not a model\n" * 100)
    both_fail(path, "not a TorchScript archive")


def test_truncated_file(tmp_path, good):
    data = good.read_bytes()
    path = tmp_path / "truncated.pt"
    path.write_bytes(data[: len(data) // 2])
    both_fail(path, "not a TorchScript archive.*truncated")


def test_missing_file(tmp_path):
    both_fail(tmp_path / "nothing.pt", "does not exist")


def test_torchscript_without_metadata(tmp_path):
    path = tmp_path / "plain.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
    both_fail(path, "not an exported HermNet model.*hermnet export")


def test_training_checkpoint(tmp_path):
    path = tmp_path / "best.pt"
    torch.save({"format": "hermnet-checkpoint", "version": 1}, path)
    both_fail(path, "not an exported HermNet model")


def test_newer_format_version(tmp_path, good):
    path = resaved(good, tmp_path / "newer.pt", lambda m: m.update(format_version=99))
    both_fail(path, "format version 99, newer than")


def test_missing_metadata_key(tmp_path, good):
    path = resaved(good, tmp_path / "nocutoff.pt", lambda m: m.pop(keys.METADATA_CUTOFF))
    both_fail(path, "missing.*cutoff")


def test_bad_device(good):
    with pytest.raises(ModelError, match="unknown device 'tpu'"):
        CoreModel(str(good), "tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="no CUDA GPU"):
            CoreModel(str(good), "cuda:0")


def test_bad_inputs_raise_instead_of_crashing(good):
    import numpy as np

    core = CoreModel(str(good))
    positions = np.zeros((2, 3))
    with pytest.raises(ModelError, match="type 7"):
        core.compute(positions, np.array([0, 7]), np.zeros((2, 0), np.int64), np.zeros((0, 3)))
    with pytest.raises(ModelError, match="outside"):
        core.compute(positions, np.array([0, 1]), np.array([[0], [5]]), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="edge_shift must have shape"):
        core.compute(positions, np.array([0, 1]), np.array([[0], [1]]), np.zeros((2, 3)))


def test_pooled_readout_is_refused(tmp_path):
    config = ModelConfig(
        elements=["H", "C", "O", "Cu"], readout="pooled", features=4, radial_basis=4, layers=1
    )
    with pytest.raises(ExportError, match="readout='pooled'.*not.*local|readout: atomic"):
        export_potential(build_model(config), config, tmp_path / "m.pt", frame_of(alloy(1)))
    assert not (tmp_path / "m.pt").exists()
