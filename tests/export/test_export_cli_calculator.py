"""`hermnet export` / `hermnet info` from a checkpoint, and the ASE calculator backends."""

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from hermnet.calculators import HermNetCalculator
from hermnet.cli.main import main
from hermnet.model.checkpoint import save_checkpoint
from tests.model.helpers import alloy, cu_h_cell, ethanol, tiny_config, tiny_potential


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A checkpoint whose training config points at a readable data file."""
    folder = tmp_path_factory.mktemp("run")
    frames = [alloy(n_repeat=2, seed=1), alloy(n_repeat=1, seed=2), alloy(n_repeat=2, seed=3)]
    for atoms in frames:
        atoms.calc = SinglePointCalculator(
            atoms, energy=-1.0, forces=np.zeros((len(atoms), 3)), stress=np.zeros(6)
        )
    data = folder / "train.extxyz"
    write(data, frames)
    potential, config = tiny_potential("triad"), tiny_config("triad")
    checkpoint = folder / "best.pt"
    save_checkpoint(
        checkpoint,
        {
            "model_config": config.to_dict(),
            "model_state": potential.state_dict(),
            "ema_state": None,
            "config": {"data": {"train": [str(data)]}},
            "data_description": "3 test structures",
        },
    )
    model = folder / "model.pt"
    assert main(["export", str(checkpoint), "-o", str(model)]) == 0
    return checkpoint, model


def test_export_takes_the_smallest_training_frame(trained, capsys):
    _, model = trained
    assert main(["info", str(model)]) == 0
    out = capsys.readouterr().out
    for text in (
        "triad",
        "H(Z=1)",
        "receptive field  14 Å",
        "hop interface  v1 (for LAMMPS `ghosts exchange` and `chunk`; the C++ self-check runs it)",
        "ghosts exchange       verified: hop by hop through the C++ core",
        "parameters",
        "4 atoms from",
        "3 test structures",
        "python (TorchScript)  self-check passed",
        "C++ core              self-check passed",
        "TF32 on GPUs  no",
        "edge operators  fused (C++ core",
    ):
        assert text in out, text


def test_export_tf32_is_recorded_and_float32_only(trained, tmp_path, capsys):
    """--tf32 is stored in the file (GPU engines switch TF32 on from it) and shown by info;
    asking for it on a float64 export is refused."""
    import json

    import torch

    from hermnet.export import keys

    checkpoint, _ = trained
    model = tmp_path / "tf32.pt"
    assert main(["export", str(checkpoint), "-o", str(model), "--dtype", "float32", "--tf32"]) == 0
    extra = {keys.METADATA_FILE: ""}
    torch.jit.load(str(model), _extra_files=extra)
    assert json.loads(extra[keys.METADATA_FILE])[keys.METADATA_TF32] is True
    assert main(["info", str(model)]) == 0
    assert "TF32 on GPUs  yes" in capsys.readouterr().out
    refused = tmp_path / "f64.pt"
    assert main(["export", str(checkpoint), "-o", str(refused), "--dtype", "float64", "--tf32"])
    assert "--tf32 applies to float32 models" in capsys.readouterr().err
    assert not refused.exists()


def test_export_unfused_is_recorded(trained, tmp_path, capsys):
    """--unfused writes plain torch operator chains, says so in the metadata and info, and
    still passes both self-checks."""
    checkpoint, _ = trained
    model = tmp_path / "plain.pt"
    assert main(["export", str(checkpoint), "-o", str(model), "--unfused"]) == 0
    assert main(["info", str(model)]) == 0
    out = capsys.readouterr().out
    assert "edge operators  torch (exported with --unfused)" in out
    assert "C++ core              self-check passed" in out


def test_export_needs_a_frame_when_data_are_gone(tmp_path, capsys):
    checkpoint = tmp_path / "best.pt"
    save_checkpoint(
        checkpoint,
        {
            "model_config": tiny_config("vertex").to_dict(),
            "model_state": tiny_potential("vertex").state_dict(),
            "config": {"data": {"train": [str(tmp_path / "gone.xyz")]}},
        },
    )
    assert main(["export", str(checkpoint), "-o", str(tmp_path / "m.pt")]) == 2
    assert "--frame" in capsys.readouterr().err
    frame = tmp_path / "frame.extxyz"
    write(frame, ethanol())
    assert (
        main(
            [
                "export",
                str(checkpoint),
                "-o",
                str(tmp_path / "m.pt"),
                "--frame",
                str(frame),
                "--dtype",
                "float32",
            ]
        )
        == 0
    )
    assert "float32" in capsys.readouterr().out


def test_info_rejects_a_checkpoint(trained, capsys):
    checkpoint, _ = trained
    assert main(["info", str(checkpoint)]) == 2
    assert "not an exported HermNet model" in capsys.readouterr().err


@pytest.mark.parametrize("make", [ethanol, cu_h_cell], ids=["molecule", "periodic"])
def test_calculator_backends_agree(trained, make):
    checkpoint, model = trained
    results = []
    cpp = {"model": model, "backend": "cpp"}
    chunked = {**cpp, "chunk_edges": 7}
    for kwargs in ({"model": checkpoint}, {"model": model}, cpp, chunked):
        atoms = make()
        atoms.calc = HermNetCalculator(**kwargs)
        props = ["energy", "forces", "energies"] + (["stress"] if atoms.pbc.any() else [])
        atoms.calc.calculate(atoms, props)
        results.append(dict(atoms.calc.results))
    for other in results[1:]:
        assert set(other) == set(results[0])
        for key, value in results[0].items():
            np.testing.assert_allclose(other[key], value, rtol=1e-10, atol=1e-12)


def test_cpp_backend_needs_an_exported_model(trained):
    checkpoint, _ = trained
    with pytest.raises(ValueError, match="hermnet export"):
        HermNetCalculator(model=checkpoint, backend="cpp")
