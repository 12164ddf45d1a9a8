"""model_devi.out as DeePMD-kit writes it: header, widths and columns; and reading theirs."""

import numpy as np
import pytest

from hermnet.deviation import (
    ModelDeviFileError,
    format_header,
    format_model_devi,
    frame_deviation,
    read_model_devi,
    write_model_devi,
)

# pair_style deepmd: "#" << setw(11) << "step" then setw(19) per column;
# dp model-devi (DeePMD-kit >= 2.2) adds devi_e.
DEEPMD_LAMMPS_HEADER = (
    "#       step         max_devi_v         min_devi_v         avg_devi_v"
    "         max_devi_f         min_devi_f         avg_devi_f"
)


def deviations(frames: int = 3, atoms: int = 4):
    rng = np.random.default_rng(1)
    return [
        frame_deviation(
            rng.normal(size=2), rng.normal(size=(2, atoms, 3)), rng.normal(size=(2, 3, 3))
        )
        for _ in range(frames)
    ]


def test_header_matches_deepmd():
    assert format_header(energy=False) == DEEPMD_LAMMPS_HEADER
    assert format_header() == DEEPMD_LAMMPS_HEADER + "             devi_e"
    assert format_header(atomic=True, energy=False).endswith("      atm_devi_f(N)")


def test_rows_have_deepmd_widths_and_round_trip(tmp_path):
    devs = deviations()
    path = tmp_path / "model_devi.out"
    write_model_devi(path, [0, 10, 20], devs)
    lines = path.read_text().splitlines()
    assert lines[0] == format_header()
    row = lines[2]
    # %12d then %19.6e per column (pair_style deepmd: setw(12), " " and setw(18)).
    assert len(row) == 12 + 7 * 19
    assert row[:12] == f"{10:12d}"
    assert row[12:31] == f"{devs[1].max_devi_v:19.6e}"
    cols = read_model_devi(path)
    np.testing.assert_array_equal(cols["step"], [0, 10, 20])
    np.testing.assert_allclose(cols["max_devi_f"], [d.max_devi_f for d in devs], rtol=1e-6)
    np.testing.assert_allclose(cols["devi_e"], [d.devi_e for d in devs], rtol=1e-6)
    # Readers that go by position (DP-GEN: max_devi_f is column 4) find it there.
    table = np.loadtxt(path)
    np.testing.assert_allclose(table[:, 4], cols["max_devi_f"])


def test_atomic_columns(tmp_path):
    devs = deviations(frames=2, atoms=5)
    path = tmp_path / "model_devi.out"
    write_model_devi(path, [0, 1], devs, atomic=True)
    cols = read_model_devi(path)
    assert cols["atomic_f"].shape == (2, 5)
    np.testing.assert_allclose(cols["atomic_f"][1], devs[1].atomic_f, rtol=1e-6)


def test_reads_deepmd_files(tmp_path):
    """dp model-devi writes a '# system' line first; pair_style deepmd has no devi_e."""
    dp = tmp_path / "dp.out"
    body = format_model_devi([0, 5], deviations(2))
    dp.write_text("# data/sys.000\n" + body)
    assert read_model_devi(dp)["step"].tolist() == [0, 5]
    lmp = tmp_path / "lmp.out"
    lmp.write_text(format_model_devi([0, 100], deviations(2), atomic=True, energy=False))
    cols = read_model_devi(lmp)
    assert "devi_e" not in cols and cols["atomic_f"].shape == (2, 4)


def test_not_a_model_devi_file(tmp_path):
    path = tmp_path / "x.out"
    path.write_text("1 2 3\n")
    with pytest.raises(ModelDeviFileError, match="not a model_devi.out"):
        read_model_devi(path)
