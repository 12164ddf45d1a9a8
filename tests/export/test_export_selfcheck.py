"""The embedded self-check passes after export and fails loudly on an altered model."""

import json

import pytest
import torch

from hermnet.export import ExportError, export_potential, keys, load_core, load_exported
from tests.export.export_helpers import export_tiny, frame_of
from tests.model.helpers import alloy, tiny_config, tiny_potential


def altered_copy(path, out, change):
    """Re-save `path` with its metadata and a parameter changed by `change(module)`."""
    extra = {keys.METADATA_FILE: ""}
    module = torch.jit.load(str(path), _extra_files=extra)
    with torch.no_grad():
        change(module)
    torch.jit.save(module, str(out), _extra_files=extra)
    return out


def test_self_check_passes_in_python_and_cpp(tmp_path):
    meta = export_tiny("pair", tmp_path / "m.pt")
    check = meta[keys.METADATA_SELF_CHECK]
    assert check[keys.CHECK_SOURCE] == "alloy-4 atoms" and len(check[keys.CHECK_TYPES]) == 4
    assert load_exported(tmp_path / "m.pt").self_check().passed
    passed, report = load_core(tmp_path / "m.pt").self_check()
    assert passed, report
    assert "passed" in report


def test_altered_weights_fail_naming_what_differs(tmp_path):
    export_tiny("vertex", tmp_path / "m.pt")

    def nudge_readout(module):
        dict(module.named_parameters())["model.readout.0.bias"].add_(0.05)

    bad = altered_copy(tmp_path / "m.pt", tmp_path / "bad.pt", nudge_readout)
    result = load_exported(bad).self_check()
    assert not result.passed
    report = result.report()
    assert "FAILED" in report and "energy" in report and "forces" in report
    passed, report = load_core(bad).self_check()
    assert not passed
    assert "FAILED" in report and "energy" in report and "forces" in report


def test_altered_reference_fails_on_forces_only(tmp_path):
    """A tiny change of one stored force component is caught and located."""
    export_tiny("vertex", tmp_path / "m.pt")
    extra = {keys.METADATA_FILE: ""}
    module = torch.jit.load(str(tmp_path / "m.pt"), _extra_files=extra)
    meta = json.loads(extra[keys.METADATA_FILE])
    meta[keys.METADATA_SELF_CHECK][keys.CHECK_FORCES][2][1] += 1e-4
    torch.jit.save(
        module, str(tmp_path / "bad.pt"), _extra_files={keys.METADATA_FILE: json.dumps(meta)}
    )
    result = load_exported(tmp_path / "bad.pt").self_check()
    assert not result.passed and len(result.problems) == 1
    assert "forces differs at index (2, 1)" in result.problems[0]
    passed, report = load_core(tmp_path / "bad.pt").self_check()
    assert not passed and "forces differs at flat index 7" in report and "energy" not in report


def test_export_refuses_a_model_that_disagrees_with_python(tmp_path, monkeypatch):
    """If scripting changed the numbers, export fails instead of writing a silent bad file."""
    from hermnet.export import exporter

    real = exporter.self_check_frame

    def skewed(potential, config, frame):
        check = real(potential, config, frame)
        check[keys.CHECK_ENERGY] += 1.0
        return check

    monkeypatch.setattr(exporter, "self_check_frame", skewed)
    with pytest.raises(ExportError, match="disagrees with Python.*energy"):
        export_potential(
            tiny_potential("vertex"), tiny_config("vertex"), tmp_path / "m.pt", frame_of(alloy(1))
        )
