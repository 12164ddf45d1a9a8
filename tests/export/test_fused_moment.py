"""hermnet::moment_message (cpp/src/moment_ops.cpp), the fused rank-2 moments of painn2
and painn2v, against the operator chain of PaiNN2Conv.moment_message_chain it replaces:
values, first derivatives (its own single-pass backward), exact higher derivatives (the
chain under create_graph), the split over threads, and whole exported models."""

import os
import zipfile

import pytest
import torch

from hermnet.nn.fused import load_fused_ops
from hermnet.nn.painn2 import l2_harmonics
from tests.export.export_helpers import max_relative
from tests.export.test_fused_ops import assert_fused_export_equals_unfused

load_fused_ops()
TOLERANCE = {torch.float64: 1e-12, torch.float32: 1e-5}


def moment_chain(phi, p, basis, rel, weight, unit, center, rows):
    """Q[c] = sum over c's edges of Y2(u) (x) phi[p] * (basis W[rel]), in torch operators."""
    filt = torch.bmm(basis.unsqueeze(1), weight[rel]).squeeze(1)
    a = phi[p] * filt
    terms = l2_harmonics(unit).unsqueeze(2) * a.unsqueeze(1)
    return torch.zeros(rows, 5, phi.shape[1], dtype=phi.dtype).index_add(0, center, terms)


def moment_inputs(dtype, edges=60, rows=9, features=37, basis=7, relations=3, seed=0):
    """Random inputs; F = 37 leaves a tail after the 64-byte vectors in both dtypes. With
    more than 8192 edges the centers are sorted (as graph builders make them), so two
    threads split the edges; unit vectors are normalised, as the model's are."""
    gen = torch.Generator().manual_seed(seed)
    center = torch.randint(0, rows, (edges,), generator=gen)
    if edges > 8192:
        center = torch.sort(center).values
    phi = torch.randn(2 * rows, features, dtype=dtype, generator=gen).requires_grad_()
    p = torch.randint(0, 2 * rows, (edges,), generator=gen)
    basis_rows = torch.randn(edges, basis, dtype=dtype, generator=gen).requires_grad_()
    rel = torch.randint(0, relations, (rows,), generator=gen)[center]
    weight = torch.randn(relations, basis, features, dtype=dtype, generator=gen)
    unit = torch.randn(edges, 3, dtype=dtype, generator=gen)
    unit = (unit / unit.norm(dim=1, keepdim=True)).requires_grad_()
    return phi, p, basis_rows, rel, weight.requires_grad_(), unit, center


DIFFERENTIATED = (0, 2, 4, 5)  # phi, basis, weight, unit
NAMES = ("phi", "basis", "weight", "unit")


def at_threads(threads, fn):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return fn()
    finally:
        torch.set_num_threads(before)


def assert_close(got, want, dtype, what):
    err = max_relative(got.detach().numpy(), want.detach().numpy())
    assert err < TOLERANCE[dtype], f"{what}: relative error {err:.2e}"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("edges", [60, 20_000])
def test_moment_message_matches_chain(dtype, threads, reference, edges, monkeypatch):
    if reference:  # the operator chain that GPUs run, taken on the CPU
        monkeypatch.setenv("HERMNET_FUSED_REFERENCE", "1")
    inputs = moment_inputs(dtype, edges=edges, rows=700 if edges > 8192 else 9)
    rows = int(inputs[6].max()) + 3  # rows past the last center stay zero
    wrt = tuple(inputs[k] for k in DIFFERENTIATED)

    def run():
        got = torch.ops.hermnet.moment_message(*inputs, rows)
        cotangent = torch.randn(got.shape, dtype=dtype, generator=torch.Generator().manual_seed(5))
        # Forces alone (what an engine asks for): the weight gradient is skipped.
        basis_alone = torch.autograd.grad(
            torch.ops.hermnet.moment_message(*inputs, rows), inputs[2], cotangent
        )[0]
        return got, cotangent, torch.autograd.grad(got, wrt, cotangent), basis_alone

    got, cotangent, got_grads, basis_alone = at_threads(threads, run)
    want = moment_chain(*inputs, rows)
    assert got.shape == (rows, 5, inputs[0].shape[1])
    assert_close(got, want, dtype, "Q")
    want_grads = torch.autograd.grad(want, wrt, cotangent)
    for name, g, w in zip(NAMES, got_grads, want_grads, strict=True):
        assert_close(g, w, dtype, f"d/d{name}")
    assert_close(basis_alone, want_grads[1], dtype, "d/dbasis alone")


def test_moment_message_derivatives_of_every_order_are_exact():
    """gradcheck (the fused backward) and gradgradcheck (the create_graph path)."""
    phi, p, basis, rel, weight, unit, center = moment_inputs(
        torch.float64, edges=14, rows=4, features=3, basis=4
    )

    def moments(phi, basis, weight, unit):
        return torch.ops.hermnet.moment_message(phi, p, basis, rel, weight, unit, center, 5)

    assert torch.autograd.gradcheck(moments, (phi, basis, weight, unit))
    assert torch.autograd.gradgradcheck(moments, (phi, basis, weight, unit))


@pytest.mark.skipif(torch.get_num_threads() < 2 and os.cpu_count() < 2, reason="one core")
def test_moment_message_threads_split_edges_deterministically():
    """Two threads split the sorted edges at a center boundary: the forward is bit-identical
    to one thread; the backward adds two partial sums on the phi side, equal to rounding."""
    inputs = moment_inputs(torch.float64, edges=20_000, rows=700)
    rows = 700

    def run():
        out = torch.ops.hermnet.moment_message(*inputs, rows)
        grads = torch.autograd.grad(out, (inputs[0], inputs[2], inputs[5]), torch.ones_like(out))
        return out.detach(), grads

    one_out, one_grads = at_threads(1, run)
    two_out, two_grads = at_threads(2, run)
    assert torch.equal(one_out, two_out)
    for a, b in zip(one_grads, two_grads, strict=True):
        assert max_relative(a.numpy(), b.numpy()) < 1e-12
    for a, b in zip(two_grads, at_threads(2, run)[1], strict=True):
        assert torch.equal(a, b)  # a given thread count repeats itself exactly


def test_moment_message_keeps_no_per_edge_rows_for_its_backward():
    # The backward recomputes each edge's filter: nothing of [edges, F] is saved.
    inputs = moment_inputs(torch.float32, edges=50)
    edges, width = inputs[2].shape[0], inputs[0].shape[1]
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(
        lambda t: saved.append(tuple(t.shape)) or t, lambda t: t
    ):
        out = torch.ops.hermnet.moment_message(*inputs, 10)
    assert saved, "the fused operator saved nothing: the hook did not see it"
    assert (edges, width) not in saved
    torch.autograd.grad(out, inputs[0], torch.ones_like(out))


def test_moment_message_with_no_edges_and_an_unused_relation():
    phi, p, basis, rel, weight, unit, center = moment_inputs(torch.float64)
    rel = torch.zeros_like(rel)  # relations 1 and 2 have no edges: zero weight gradient
    out = torch.ops.hermnet.moment_message(phi, p, basis, rel, weight, unit, center, 9)
    g_weight = torch.autograd.grad(out.sum(), weight)[0]
    assert g_weight[0].abs().sum() > 0 and not g_weight[1:].any()
    empty = [x[:0] for x in (p, basis, rel, unit, center)]
    out = torch.ops.hermnet.moment_message(
        phi, empty[0], empty[1], empty[2], weight, empty[3], empty[4], 4
    )
    assert out.shape == (4, 5, phi.shape[1]) and not out.any()


def test_moment_message_refuses_bad_indices_and_shapes():
    phi, p, basis, rel, weight, unit, center = moment_inputs(torch.float64)
    bad = rel.clone()
    bad[0] = weight.shape[0]
    with pytest.raises(RuntimeError, match="relation holds an index outside"):
        torch.ops.hermnet.moment_message(phi, p, basis, bad, weight, unit, center, 9)
    with pytest.raises(RuntimeError, match="center holds an index outside"):
        torch.ops.hermnet.moment_message(phi, p, basis, rel, weight, unit, center, 2)
    with pytest.raises(RuntimeError, match="weight must be"):
        torch.ops.hermnet.moment_message(phi, p, basis, rel, weight[:, 1:], unit, center, 9)
    with pytest.raises(RuntimeError, match="unit must be"):
        torch.ops.hermnet.moment_message(phi, p, basis, rel, weight, unit.float(), center, 9)


def scripted_source(path) -> str:
    """The TorchScript source inside an exported file (a zip archive)."""
    with zipfile.ZipFile(path) as archive:
        return "".join(
            archive.read(name).decode() for name in archive.namelist() if name.endswith(".py")
        )


@pytest.mark.parametrize("kind", ["vertex-painn2", "vertex-painn2v", "triad-painn2"])
def test_fused_moment_export_equals_unfused_export(tmp_path, kind):
    variant, _, block = kind.partition("-")
    assert_fused_export_equals_unfused(tmp_path, variant, block=block)
    # The fused file calls the operator; the plain one needs torch alone.
    assert "ops.hermnet.moment_message" in scripted_source(tmp_path / "fused.pt")
    assert "ops.hermnet" not in scripted_source(tmp_path / "plain.pt")
