"""Several MPI ranks give the single-rank results.

Default on several ranks: ghost exchange (`ghosts exchange`): the ghost shell is one cutoff
deep and the features of ghost atoms are refreshed from their owners after every hop, with
gradients sent home in the backward pass. The reference: `ghosts deep`, a ghost shell as
deep as the receptive field. Layouts include ranks that own no atom, 3 ranks (an uneven
split) and a cell thinner than the cutoff, where a rank's ghosts are images of its own atoms.

The ranks differ from one rank only in summation order: 1e-10 of each quantity's scale
(measured: about 1e-14).
"""

import re

import numpy as np
import pytest

from tests.lammps.lammps_helpers import assert_close, pair_lines, run0, structure
from tests.model.helpers import ELEMENTS, MODEL_KINDS

OUTPUTS = ("energy", "forces", "atomic_energy", "virial", "atomic_virial", "atomic_virial6")


def nlocal_min(output: str) -> float:
    match = re.search(r"Nlocal:\s+\S+ ave\s+\S+ max\s+(\S+) min", output)
    assert match, "no Nlocal statistics in the LAMMPS output"
    return float(match.group(1))


def compare_ranks(tmp_path, model, name, ranks, before="", ghosts="auto", options=""):
    """Run `name` on 1 rank (remap) and on each of `ranks` with `ghosts` (and `options`); all
    must agree."""
    atoms = structure(name)
    one = run0(tmp_path / "1", atoms, pair_lines(model, ELEMENTS))
    runs = {}
    for n in ranks:
        pair = pair_lines(model, ELEMENTS, f"ghosts {ghosts} {options}")
        runs[n] = run0(tmp_path / str(n), atoms, pair, nprocs=n, before=before)
        mode = "exchange" if ghosts == "auto" else ghosts
        assert f"HermNet: ghosts {mode}: {n} rank(s)" in runs[n]["run"].output
        assert_close(runs[n], one, OUTPUTS, rtol=1e-10)
    return runs


@pytest.mark.parametrize("variant", MODEL_KINDS)
def test_exchange_alloy_two_and_three_ranks(tmp_path, models, variant):
    compare_ranks(tmp_path, models[variant], "alloy", [2, 3])


@pytest.mark.parametrize("kind", ["pair", "vertex-painn"])
def test_exchange_molecule_with_empty_ranks(tmp_path, models, kind):
    """A molecule in a vacuum box cut into 4 slabs along x: the outer ranks own no atom, and
    still pass their neighbors' exchanges on."""
    runs = compare_ranks(tmp_path, models[kind], "molecule", [2, 4], "processors * 1 1")
    assert nlocal_min(runs[4]["run"].output) == 0


@pytest.mark.parametrize("variant", ["vertex", "triad", "vertex-painn2"])
def test_exchange_thin_cell_one_and_four_ranks(tmp_path, models, variant):
    """A cell thinner than the cutoff: the ghosts are many images of the rank's own atoms
    (LAMMPS' self-swaps carry the exchange), also on one rank with `ghosts exchange`."""
    runs = compare_ranks(tmp_path, models[variant], "thin", [1, 4], ghosts="exchange")
    assert nlocal_min(runs[4]["run"].output) == 0  # 3 atoms on 4 ranks


@pytest.mark.parametrize("variant", ["vertex", "pair"])
def test_chunked_evaluation_on_one_and_two_ranks(tmp_path, models, variant):
    """`chunk 60`: the 32-atom cell's ~500 edges per rank in chunks of a few atoms each, with
    remap on one rank and exchange on two, equal the unchunked single rank."""
    runs = compare_ranks(tmp_path / "x", models[variant], "alloy", [2], options="chunk 60")
    assert "chunked evaluation, at most 60 edges per chunk" in runs[2]["run"].output
    atoms = structure("alloy")
    one = run0(tmp_path / "1", atoms, pair_lines(models[variant], ELEMENTS))
    chunked = run0(tmp_path / "c", atoms, pair_lines(models[variant], ELEMENTS, "chunk 60"))
    assert_close(chunked, one, OUTPUTS, rtol=1e-10)


def test_exchange_agrees_with_deep_ghost_shell(tmp_path, models):
    atoms = structure("alloy")
    runs = {}
    for ghosts in ("exchange", "deep"):
        pair = pair_lines(models["triad"], ELEMENTS, f"ghosts {ghosts}")
        runs[ghosts] = run0(tmp_path / ghosts, atoms, pair, nprocs=2, post=STATS)
    assert_close(runs["exchange"], runs["deep"], OUTPUTS, rtol=1e-10)
    computed = {k: model_atoms(v["run"].output) for k, v in runs.items()}
    assert computed["exchange"] < computed["deep"]


# compute pair hermnet: model atoms, local ones, ghosts and edges, summed over ranks.
STATS = """compute hs all pair hermnet
run 0
print "stats $(c_hs[1]) $(c_hs[2]) $(c_hs[3]) $(c_hs[4])"
"""


def stats(output: str) -> tuple[float, float, float, float]:
    """compute pair hermnet summed over ranks: model atoms, local ones, ghost rows, edges."""
    match = re.findall(r"^stats (\S+) (\S+) (\S+) (\S+)", output, re.MULTILINE)
    assert match, "no compute pair statistics printed"
    return tuple(float(x) for x in match[-1])


def model_atoms(output: str) -> float:
    return stats(output)[0]


@pytest.mark.parametrize("name", ["alloy", "thin"])
def test_exchange_ghost_rows_are_other_ranks_atoms_only(tmp_path, models, name):
    """Images of a rank's own atoms are its atoms (shifted edges), and each atom of another
    rank is one row however many images of it the rank holds: one rank in exchange mode
    computes what remap does, and two ranks hold fewer rows than atoms in all."""
    atoms = structure(name)
    remap = run0(tmp_path / "remap", atoms, pair_lines(models["vertex"], ELEMENTS), post=STATS)
    runs = {}
    for n in (1, 2):
        pair = pair_lines(models["vertex"], ELEMENTS, "ghosts exchange")
        runs[n] = run0(tmp_path / str(n), atoms, pair, nprocs=n, post=STATS)
        assert_close(runs[n], remap, OUTPUTS, rtol=1e-10)
    assert stats(runs[1]["run"].output) == stats(remap["run"].output)
    assert stats(runs[1]["run"].output)[2] == 0
    _, local, ghost_rows, _ = stats(runs[2]["run"].output)
    assert local == len(atoms)
    # Rank r's ghost rows are distinct atoms of the other rank: at most N in all.
    assert 0 < ghost_rows <= len(atoms)


@pytest.mark.slow
@pytest.mark.parametrize("variant", MODEL_KINDS)
def test_exchange_triclinic_and_thin_three_ranks(tmp_path, models, variant):
    compare_ranks(tmp_path / "tri", models[variant], "triclinic", [3, 4])
    compare_ranks(tmp_path / "thin", models[variant], "thin", [2, 3])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["alloy", "thin"])
def test_deep_ghost_shell_two_and_four_ranks(tmp_path, models, name):
    """The reference mode itself, on small periodic cells with many images of each atom."""
    compare_ranks(tmp_path, models["vertex"], name, [2, 4], ghosts="deep")


def test_exchange_forces_are_minus_the_energy_gradient_on_two_ranks(tmp_path, models):
    """Central differences of the 2-rank energy against the 2-rank forces (float64)."""
    atoms = structure("alloy")
    pair = pair_lines(models["pair"], ELEMENTS)
    h = 1e-4
    probes = [1, 7, 20]
    moves = []
    for probe in probes:
        for k, axis in enumerate("xyz"):
            for sign in (1, -1):
                step = [0.0, 0.0, 0.0]
                step[k] = sign * h
                forth = " ".join(f"{x:.17g}" for x in step)
                back = " ".join(f"{-x:.17g}" for x in step)
                moves.append(
                    f"displace_atoms p{probe} move {forth} units box\nrun 0\n"
                    f'print "fd {probe} {axis} {sign} $(pe:%.17g)"\n'
                    f"displace_atoms p{probe} move {back} units box"
                )
    groups = "\n".join(f"group p{p} id {p}" for p in probes)
    got = run0(tmp_path, atoms, pair, nprocs=2, post=groups + "\n" + "\n".join(moves))
    energies = {}
    for probe, axis, sign, energy in re.findall(
        r"^fd (\d+) ([xyz]) (-?1) (\S+)", got["run"].output, re.MULTILINE
    ):
        energies[(int(probe), axis, int(sign))] = float(energy)
    assert len(energies) == 6 * len(probes)
    for probe in probes:
        for k, axis in enumerate("xyz"):
            fd = -(energies[(probe, axis, 1)] - energies[(probe, axis, -1)]) / (2 * h)
            force = got["forces"][probe - 1, k]
            assert np.isclose(fd, force, rtol=1e-6, atol=1e-7), (probe, axis, fd, force)


@pytest.mark.slow
def test_chunked_with_empty_ranks_thin_cells_and_deep_ghosts(tmp_path, models):
    """`chunk` where chunks are tiny: ranks without atoms, a cell whose ghosts are images of
    a rank's own atoms (chunks smaller than one atom's edges), and the deep ghost shell
    (every atom a center)."""
    compare_ranks(
        tmp_path / "m", models["triad"], "molecule", [2, 4], "processors * 1 1", options="chunk 30"
    )
    compare_ranks(
        tmp_path / "t", models["vertex"], "thin", [1, 3], ghosts="exchange", options="chunk 20"
    )
    compare_ranks(tmp_path / "d", models["pair"], "alloy", [2], ghosts="deep", options="chunk 100")
