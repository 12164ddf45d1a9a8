"""The C++ fused edge operators against the torch operator chains they replace.

hermnet::filter_message, edge_message, vector_message and gather_scale_add
(cpp/src/fused_ops.cpp) must give
the chains' values and first derivatives (their own single-pass backward), exact second
derivatives (the chain backward under create_graph), and whole exported models must agree
with and without them. float64 agrees to rounding (only the order of sums differs);
float32 to 1e-5 relative, a few ulps of the per-element sums of up to 40 terms.
"""

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hermnet import _core
from hermnet.export import load_core
from hermnet.nn.fused import load_fused_ops
from tests.export.export_helpers import export_tiny, graph, max_relative
from tests.export.test_export_chunked import FLAGS
from tests.export.test_export_hops import STRUCTURES

load_fused_ops()
TOLERANCE = {torch.float64: 1e-12, torch.float32: 1e-5}


def vector_message_chain(v, a_v, a_r, unit, center, neighbor, rows):
    dv = v.index_select(0, neighbor) * a_v.unsqueeze(1) + a_r.unsqueeze(1) * unit.unsqueeze(-1)
    return torch.zeros(rows, 3, v.shape[2], dtype=v.dtype).index_add(0, center, dv)


def edge_message_chain(phi, p, filt, q, v, unit, center, neighbor, rows):
    a_v, a_s, a_r = torch.split(phi[p] * filt[q], v.shape[2], dim=-1)
    ds = torch.zeros(rows, v.shape[2], dtype=v.dtype).index_add(0, center, a_s)
    return vector_message_chain(v, a_v, a_r, unit, center, neighbor, rows), ds


def edge_message_inputs(dtype, seed=2):
    """message_inputs plus phi rows read by several edges and padded filter rows (more rows
    than edges, each edge reading its own)."""
    v, a, unit, center, neighbor = message_inputs(dtype, seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    edges, width = a.shape
    phi = torch.randn(13, width, dtype=dtype, generator=gen).requires_grad_()
    filt = torch.randn(edges + 7, width, dtype=dtype, generator=gen).requires_grad_()
    p = torch.randint(0, 13, (edges,), generator=gen)
    q = torch.randperm(edges + 7, generator=gen)[:edges]
    return phi, p, filt, q, v, unit, center, neighbor


def gather_scale_add_chain(x, w, src, dst, rows):
    return torch.zeros(rows, x.shape[1], dtype=x.dtype).index_add(
        0, dst, x.index_select(0, src) * w.unsqueeze(1)
    )


def message_inputs(dtype, rows=9, edges=50, features=48, seed=0):
    """Random v, a [E, 3F] (a_v and a_r are strided views of it, as in HermConv), unit,
    and edges with repeated centers and neighbors."""
    gen = torch.Generator().manual_seed(seed)
    v = torch.randn(rows, 3, features, dtype=dtype, generator=gen).requires_grad_()
    a = torch.randn(edges, 3 * features, dtype=dtype, generator=gen).requires_grad_()
    unit = torch.randn(edges, 3, dtype=dtype, generator=gen).requires_grad_()
    center = torch.randint(0, rows, (edges,), generator=gen)
    neighbor = torch.randint(0, rows, (edges,), generator=gen)
    return v, a, unit, center, neighbor


def vector_message_of(op, v, a, unit, center, neighbor, rows):
    a_v, _, a_r = torch.split(a, v.shape[2], dim=-1)
    return op(v, a_v, a_r, unit, center, neighbor, rows)


def assert_close(got, want, dtype, what):
    err = max_relative(got.detach().numpy(), want.detach().numpy())
    assert err < TOLERANCE[dtype], f"{what}: relative error {err:.2e}"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("reference", [False, True])
def test_vector_message_matches_chain(dtype, threads, reference, monkeypatch):
    if reference:  # the operator chain that GPUs run, taken on the CPU
        monkeypatch.setenv("HERMNET_FUSED_REFERENCE", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        v, a, unit, center, neighbor = message_inputs(dtype)
        rows = v.shape[0] + 2  # rows past the last center stay zero
        got = vector_message_of(
            torch.ops.hermnet.vector_message, v, a, unit, center, neighbor, rows
        )
        want = vector_message_of(vector_message_chain, v, a, unit, center, neighbor, rows)
        assert_close(got, want, dtype, "value")
        cotangent = torch.randn_like(want)
        got_grads = torch.autograd.grad(got, (v, a, unit), cotangent)
        want_grads = torch.autograd.grad(want, (v, a, unit), cotangent)
    finally:
        torch.set_num_threads(before)
    for name, g, w in zip(("v", "a", "unit"), got_grads, want_grads, strict=True):
        assert_close(g, w, dtype, f"d/d{name}")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("reference", [False, True])
def test_edge_message_matches_chain(dtype, threads, reference, monkeypatch):
    if reference:
        monkeypatch.setenv("HERMNET_FUSED_REFERENCE", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        inputs = edge_message_inputs(dtype)
        rows = inputs[4].shape[0] + 1
        got = torch.ops.hermnet.edge_message(*inputs, rows)
        want = edge_message_chain(*inputs, rows)
        differentiated = tuple(inputs[k] for k in (0, 2, 4, 5))  # phi, filt, v, unit
        cotangents = [torch.randn_like(w) for w in want]
        got_grads = torch.autograd.grad(got, differentiated, cotangents)
        want_grads = torch.autograd.grad(want, differentiated, cotangents)
    finally:
        torch.set_num_threads(before)
    assert_close(got[0], want[0], dtype, "dv")
    assert_close(got[1], want[1], dtype, "ds")
    for name, g, w in zip(("phi", "filt", "v", "unit"), got_grads, want_grads, strict=True):
        assert_close(g, w, dtype, f"d/d{name}")


def filter_message_inputs(dtype, features=37, basis=31, relations=3, seed=4, grouped=False):
    """edge_message_inputs with the filter as basis rows times per-relation weights. F = 37
    leaves a tail after the kernels' 64-byte vectors at 1 and 2 threads, in both dtypes.
    grouped: edges sorted by center and the relation that of the center (the vertex
    variant's layout), so runs of edges share a relation, as the kernels' edge groups need;
    otherwise relations are random and runs are short."""
    v, a, unit, center, neighbor = message_inputs(dtype, features=features, seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    edges = a.shape[0]
    phi = torch.randn(13, 3 * features, dtype=dtype, generator=gen).requires_grad_()
    p = torch.randint(0, 13, (edges,), generator=gen)
    rows = torch.randn(edges, basis, dtype=dtype, generator=gen).requires_grad_()
    rel = torch.randint(0, relations, (edges,), generator=gen)
    if grouped:
        center = torch.sort(center).values
        rel = torch.randint(0, relations, (v.shape[0],), generator=gen)[center]
    weight = torch.randn(relations, basis, 3 * features, dtype=dtype, generator=gen)
    return phi, p, rows, rel, weight.requires_grad_(), v, unit, center, neighbor


def filter_message_chain(phi, p, rows, rel, weight, v, unit, center, neighbor, out_rows):
    filt = torch.bmm(rows.unsqueeze(1), weight[rel]).squeeze(1)
    q = torch.arange(filt.shape[0])
    return edge_message_chain(phi, p, filt, q, v, unit, center, neighbor, out_rows)


def cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


@pytest.mark.skipif(
    platform.machine() != "x86_64" or not Path("/proc/cpuinfo").exists(),
    reason="x86-64 Linux: the kernels pick a vector width per CPU level",
)
def test_filter_kernels_use_the_vector_width_of_the_cpu():
    # 64-byte vectors on a CPU without AVX-512 were split into stack spills (16x slower).
    flags = cpu_flags()
    want = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= flags else 16
    assert _core.fused_vector_bytes() == want


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    ("reference", "grouped", "vector_bytes"),
    [(False, False, None), (False, True, None), (True, True, None), (False, True, "16")],
)
def test_filter_message_matches_chain(
    dtype, threads, reference, grouped, vector_bytes, monkeypatch
):
    if reference:
        monkeypatch.setenv("HERMNET_FUSED_REFERENCE", "1")
    if vector_bytes:
        monkeypatch.setenv("HERMNET_VECTOR_BYTES", vector_bytes)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        inputs = filter_message_inputs(dtype, grouped=grouped)
        runs = torch.unique_consecutive(inputs[3], return_counts=True)[1]
        assert (runs >= 4).any() if grouped else (runs < 4).any()
        rows = inputs[5].shape[0] + 1
        got = torch.ops.hermnet.filter_message(*inputs, rows)
        want = filter_message_chain(*inputs, rows)
        differentiated = tuple(inputs[k] for k in (0, 2, 4, 5, 6))  # phi, basis, W, v, unit
        cotangents = [torch.randn_like(w) for w in want]
        got_grads = torch.autograd.grad(got, differentiated, cotangents)
        want_grads = torch.autograd.grad(want, differentiated, cotangents)
        # Forces alone (what an engine asks for): the weight gradient is skipped, the rest
        # is unchanged.
        got_basis = torch.autograd.grad(
            torch.ops.hermnet.filter_message(*inputs, rows), inputs[2], cotangents
        )[0]
    finally:
        torch.set_num_threads(before)
    assert_close(got[0], want[0], dtype, "dv")
    assert_close(got[1], want[1], dtype, "ds")
    names = ("phi", "basis", "weight", "v", "unit")
    for name, g, w in zip(names, got_grads, want_grads, strict=True):
        assert_close(g, w, dtype, f"d/d{name}")
    assert_close(got_basis, want_grads[1], dtype, "d/dbasis alone")


def test_filter_message_keeps_no_per_edge_filter_for_its_backward():
    # The backward recomputes each edge's filter: the forward keeps its inputs and no
    # [edges, 3F] tensor, which on a 16k-atom cell was 576 MB written and read per hop.
    inputs = filter_message_inputs(torch.float32, grouped=True)
    edges, width = inputs[2].shape[0], inputs[0].shape[1]
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(
        lambda t: saved.append(t.shape) or t, lambda t: t
    ):
        out = torch.ops.hermnet.filter_message(*inputs, inputs[5].shape[0] + 1)
    assert saved, "the fused operator saved nothing: the hook did not see it"
    assert (edges, width) not in [tuple(shape) for shape in saved]
    torch.autograd.grad(out, inputs[0], [torch.ones_like(o) for o in out])


def test_filter_message_with_an_unused_relation_and_no_edges():
    phi, p, rows, rel, weight, v, unit, center, neighbor = filter_message_inputs(torch.float64)
    rel = torch.zeros_like(rel)  # relations 1 and 2 have no edges: zero weight gradient
    got = torch.ops.hermnet.filter_message(phi, p, rows, rel, weight, v, unit, center, neighbor, 9)
    g_weight = torch.autograd.grad(got[0].sum() + got[1].sum(), weight)[0]
    assert g_weight[0].abs().sum() > 0 and not g_weight[1:].any()
    empty = [x[:0] for x in (p, rows, rel, unit, center, neighbor)]
    out = torch.ops.hermnet.filter_message(
        phi, empty[0], empty[1], empty[2], weight, v, empty[3], empty[4], empty[5], 4
    )
    assert out[0].shape == (4, 3, v.shape[2]) and not out[0].any() and not out[1].any()


def test_filter_message_refuses_bad_relations_and_shapes():
    phi, p, rows, rel, weight, v, unit, center, neighbor = filter_message_inputs(torch.float64)
    bad = rel.clone()
    bad[0] = weight.shape[0]
    with pytest.raises(RuntimeError, match="relation holds an index outside"):
        torch.ops.hermnet.filter_message(phi, p, rows, bad, weight, v, unit, center, neighbor, 9)
    with pytest.raises(RuntimeError, match="weight must be"):
        torch.ops.hermnet.filter_message(
            phi, p, rows, rel, weight[:, 1:], v, unit, center, neighbor, 9
        )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("threads", [1, 2])
def test_gather_scale_add_matches_chain(dtype, threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        gen = torch.Generator().manual_seed(1)
        x = torch.randn(7, 96, dtype=dtype, generator=gen).requires_grad_()
        w = torch.randn(40, dtype=dtype, generator=gen).requires_grad_()
        src = torch.randint(0, 7, (40,), generator=gen)
        dst = torch.randint(0, 11, (40,), generator=gen)
        got = torch.ops.hermnet.gather_scale_add(x, w, src, dst, 12)
        want = gather_scale_add_chain(x, w, src, dst, 12)
        assert_close(got, want, dtype, "value")
        cotangent = torch.randn_like(want)
        got_grads = torch.autograd.grad(got, (x, w), cotangent)
        want_grads = torch.autograd.grad(want, (x, w), cotangent)
    finally:
        torch.set_num_threads(before)
    for name, g, wnt in zip(("x", "w"), got_grads, want_grads, strict=True):
        assert_close(g, wnt, dtype, f"d/d{name}")


def test_derivatives_of_every_order_are_exact():
    """gradcheck (the fused backward) and gradgradcheck (the create_graph path)."""
    v, a, unit, center, neighbor = message_inputs(torch.float64, rows=4, edges=12, features=5)

    def message(v, a, unit):
        return vector_message_of(torch.ops.hermnet.vector_message, v, a, unit, center, neighbor, 4)

    assert torch.autograd.gradcheck(message, (v, a, unit))
    assert torch.autograd.gradgradcheck(message, (v, a, unit))
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(12, dtype=torch.float64, requires_grad=True)

    def gather(x, w):
        return torch.ops.hermnet.gather_scale_add(x, w, neighbor, center, 5)

    assert torch.autograd.gradcheck(gather, (x, w))
    assert torch.autograd.gradgradcheck(gather, (x, w))
    phi, p, filt, q, v, unit, center, neighbor = edge_message_inputs(torch.float64)
    phi, filt = phi[:, :15].detach().requires_grad_(), filt[:, :15].detach().requires_grad_()
    v = v[:, :, :5].detach().requires_grad_()

    def edge(phi, filt, v, unit):
        return torch.ops.hermnet.edge_message(phi, p, filt, q, v, unit, center, neighbor, 9)

    assert torch.autograd.gradcheck(edge, (phi, filt, v, unit))
    assert torch.autograd.gradgradcheck(edge, (phi, filt, v, unit))
    phi, p, rows, rel, weight, v, unit, center, neighbor = filter_message_inputs(
        torch.float64, features=5, basis=4
    )

    def filtered(phi, rows, weight, v, unit):
        return torch.ops.hermnet.filter_message(
            phi, p, rows, rel, weight, v, unit, center, neighbor, 9
        )

    assert torch.autograd.gradcheck(filtered, (phi, rows, weight, v, unit))
    assert torch.autograd.gradgradcheck(filtered, (phi, rows, weight, v, unit))


def test_no_edges_gives_zero_rows():
    v, a, unit, center, neighbor = message_inputs(torch.float64, edges=0)
    out = vector_message_of(torch.ops.hermnet.vector_message, v, a, unit, center, neighbor, 3)
    assert out.shape == (3, 3, v.shape[2]) and not out.any()
    out.sum().backward()
    assert not v.grad.any()


def test_out_of_range_indices_are_refused_not_read():
    v, a, unit, center, neighbor = message_inputs(torch.float64)
    bad = neighbor.clone()
    bad[3] = v.shape[0]
    with pytest.raises(RuntimeError, match="neighbor holds an index outside"):
        vector_message_of(torch.ops.hermnet.vector_message, v, a, unit, center, bad, 9)
    with pytest.raises(RuntimeError, match="dst holds an index outside"):
        torch.ops.hermnet.gather_scale_add(v.reshape(9, -1), unit[:, 0], neighbor, center, 2)


def assert_fused_export_equals_unfused(tmp_path, variant: str, **overrides) -> None:
    """Export fused and unfused; both agree to 1e-10 through the C++ core (float64)."""
    fused = export_tiny(variant, tmp_path / "fused.pt", **overrides)
    plain = export_tiny(variant, tmp_path / "plain.pt", fused=False, **overrides)
    assert fused["fused_edges"] is True and plain["fused_edges"] is False
    models = [load_core(tmp_path / name).core for name in ("fused.pt", "plain.pt")]
    for name in ("alloy", "thin"):
        atoms = STRUCTURES[name]()
        types, edge_index, edge_shift = graph(atoms, models[0].cutoff)
        got, want = (
            m.compute(atoms.positions, types, edge_index, edge_shift, **FLAGS) for m in models
        )
        for key, value in want.items():
            err = max_relative(np.asarray(got[key]), np.asarray(value))
            assert err < 1e-10, f"{variant} {overrides} {name} {key}: {err:.2e}"


@pytest.mark.parametrize("variant", ["vertex", "pair", "triad"])
def test_fused_export_equals_unfused_export(tmp_path, variant):
    assert_fused_export_equals_unfused(tmp_path, variant)


def test_unfused_export_loads_with_torch_alone(tmp_path):
    """--unfused files need nothing but torch; fused ones name the operators they lack."""
    export_tiny("vertex", tmp_path / "plain.pt", fused=False)
    export_tiny("vertex", tmp_path / "fused.pt")
    script = "import sys, torch; torch.jit.load(sys.argv[1]); print('loaded')"
    env = {**os.environ, "PYTHONPATH": ""}
    plain = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "plain.pt")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert plain.returncode == 0 and "loaded" in plain.stdout, plain.stderr
    fused = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "fused.pt")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert fused.returncode != 0 and "hermnet::vector_message" in fused.stderr


def test_fused_operators_reach_torchs_threads():
    # at::parallel_for compiled without OpenMP ran the kernels on one thread at any count.
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert _core.fused_threads_reached() == 2
    finally:
        torch.set_num_threads(before)


def large_filter_inputs(sort_centers: bool):
    """Enough edges (20,000) that the kernels split them over two threads."""
    gen = torch.Generator().manual_seed(11)
    rows, edges, features, basis, relations = 700, 20_000, 24, 9, 4
    dtype = torch.float64
    center = torch.randint(0, rows, (edges,), generator=gen)
    if sort_centers:
        center = torch.sort(center).values
    neighbor = torch.randint(0, rows, (edges,), generator=gen)
    v = torch.randn(rows, 3, features, dtype=dtype, generator=gen).requires_grad_()
    unit = torch.randn(edges, 3, dtype=dtype, generator=gen).requires_grad_()
    phi = torch.randn(rows * 2, 3 * features, dtype=dtype, generator=gen).requires_grad_()
    p = torch.randint(0, rows * 2, (edges,), generator=gen)
    basis_rows = torch.randn(edges, basis, dtype=dtype, generator=gen).requires_grad_()
    rel = torch.randint(0, relations, (rows,), generator=gen)[center]
    weight = torch.randn(relations, basis, 3 * features, dtype=dtype, generator=gen)
    return phi, p, basis_rows, rel, weight, v, unit, center, neighbor


def filter_message_at(threads: int, inputs):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        out = torch.ops.hermnet.filter_message(*inputs, inputs[5].shape[0])
        wrt = tuple(inputs[k] for k in (0, 2, 5, 6))  # phi, basis, v, unit
        cotangents = [torch.ones_like(o) for o in out]
        grads = torch.autograd.grad(out, wrt, cotangents)
    finally:
        torch.set_num_threads(before)
    return [o.detach() for o in out], grads


@pytest.mark.skipif(torch.get_num_threads() < 2 and os.cpu_count() < 2, reason="one core")
@pytest.mark.parametrize("sort_centers", [True, False])
def test_filter_message_threads_split_edges_deterministically(sort_centers):
    """Two threads split the edges at a center boundary: the forward is bit-identical to one
    thread (each center's sum in the same order); the backward adds two partial sums on the
    neighbor side, equal to rounding. Unsorted centers run on one thread, still exact."""
    inputs = large_filter_inputs(sort_centers)
    one_out, one_grads = filter_message_at(1, inputs)
    two_out, two_grads = filter_message_at(2, inputs)
    for a, b in zip(one_out, two_out, strict=True):
        assert torch.equal(a, b)
    for a, b in zip(one_grads, two_grads, strict=True):
        assert max_relative(a.numpy(), b.numpy()) < 1e-12
    again = filter_message_at(2, inputs)[1]
    for a, b in zip(two_grads, again, strict=True):
        assert torch.equal(a, b)  # a given thread count repeats itself exactly
    want = filter_message_chain(*inputs, inputs[5].shape[0])
    assert max_relative(two_out[0].numpy(), want[0].detach().numpy()) < 1e-12
