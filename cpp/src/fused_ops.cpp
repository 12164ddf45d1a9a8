// The fused edge operators hermnet::edge_message, hermnet::vector_message and
// hermnet::gather_scale_add, which an exported model calls in place of gather / multiply /
// index_add chains (hermnet/nn/fused.py; HermConv in hermnet/nn/hermconv.py holds the chains).
//
// On CPU tensors they run the single-pass loops of edge_kernels.hpp, forward and backward.
// On other devices, and for a backward that must itself be differentiable
// (create_graph=True, as in force training), they run the same chains of torch operators,
// so results agree everywhere and second derivatives stay exact.
// HERMNET_FUSED_REFERENCE=1 forces the operator chains on CPU too (tests compare the two).
#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/library.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "edge_kernels.hpp"
#include "filter_kernels.hpp"
#include "fused_common.hpp"

namespace hermnet {

void link_fused_ops() {}  // called by Model's constructor so static linking keeps this file

int fused_vector_bytes() { return kernels::filter_vector_bytes(); }

int fused_threads_reached() {
  // One task per intra-op thread, the way the fused kernels split their edges; counts the
  // distinct threads that ran one (1 when this file was built without the OpenMP runtime).
  const int64_t tasks = at::get_num_threads();
  std::vector<std::thread::id> ran(tasks);
  at::parallel_for(0, tasks, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      ran[k] = std::this_thread::get_id();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let every thread take one
    }
  });
  std::sort(ran.begin(), ran.end());
  return static_cast<int>(std::unique(ran.begin(), ran.end()) - ran.begin());
}

namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using namespace fused;

// Run fn(block, begin, end) over `blocks` slices of [0, width) on torch's intra-op threads.
template <typename Fn>
void over_blocks(int64_t width, int64_t blocks, const Fn& fn) {
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) fn(b, width * b / blocks, width * (b + 1) / blocks);
  });
}

// Threads worth using on a feature axis of `width`: slices below 32 elements cost more in
// re-reading the index arrays than they gain.
int64_t block_count(int64_t width) {
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), width / 32));
}

// ---- vector_message: out[c] += v[n] * av + unit (x) ar, summed over edges ----------------

Tensor vector_message_chain(const Tensor& v, const Tensor& av, const Tensor& ar, const Tensor& unit,
                            const Tensor& center, const Tensor& neighbor, int64_t num_out) {
  const Tensor dv =
      v.index_select(0, neighbor) * av.unsqueeze(1) + ar.unsqueeze(1) * unit.unsqueeze(-1);
  return v.new_zeros({num_out, 3, v.size(2)}).index_add(0, center, dv);
}

Tensor vector_message_kernel(const Tensor& v, const Tensor& av, const Tensor& ar,
                             const Tensor& unit, const Tensor& center, const Tensor& neighbor,
                             int64_t num_out) {
  const int64_t edges = center.size(0), F = v.size(2);
  check_edges(center, edges, num_out, "center");
  check_edges(neighbor, edges, v.size(0), "neighbor");
  check_rows(av, edges, F, v, "a_v");
  check_rows(ar, edges, F, v, "a_r");
  Tensor out = v.new_zeros({num_out, 3, F});
  AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "vector_message", [&] {
    over_blocks(F, block_count(F), [&](int64_t, int64_t f0, int64_t f1) {
      kernels::vector_message_forward<scalar_t>(
          v.data_ptr<scalar_t>(), av.data_ptr<scalar_t>(), av.stride(0), ar.data_ptr<scalar_t>(),
          ar.stride(0), unit.data_ptr<scalar_t>(), center.data_ptr<int64_t>(),
          neighbor.data_ptr<int64_t>(), edges, F, f0, f1, out.data_ptr<scalar_t>());
    });
  });
  return out;
}

variable_list vector_message_grad_chain(const Tensor& g, const Tensor& v, const Tensor& av,
                                        const Tensor& ar, const Tensor& unit, const Tensor& center,
                                        const Tensor& neighbor) {
  const Tensor gc = g.index_select(0, center);
  return {torch::zeros_like(v).index_add(0, neighbor, gc * av.unsqueeze(1)),
          (gc * v.index_select(0, neighbor)).sum(1), (gc * unit.unsqueeze(-1)).sum(1),
          (gc * ar.unsqueeze(1)).sum(-1)};
}

variable_list vector_message_grad_kernel(const Tensor& g, const Tensor& v, const Tensor& av,
                                         const Tensor& ar, const Tensor& unit, const Tensor& center,
                                         const Tensor& neighbor) {
  const int64_t edges = center.size(0), F = v.size(2), blocks = block_count(F);
  Tensor gv = torch::zeros_like(v);
  Tensor gav = v.new_empty({edges, F});
  Tensor gar = v.new_empty({edges, F});
  Tensor partial = v.new_empty({blocks, edges, 3});
  AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "vector_message_backward", [&] {
    over_blocks(F, blocks, [&](int64_t b, int64_t f0, int64_t f1) {
      kernels::vector_message_backward<scalar_t>(
          g.data_ptr<scalar_t>(), v.data_ptr<scalar_t>(), av.data_ptr<scalar_t>(), av.stride(0),
          ar.data_ptr<scalar_t>(), ar.stride(0), unit.data_ptr<scalar_t>(),
          center.data_ptr<int64_t>(), neighbor.data_ptr<int64_t>(), edges, F, f0, f1,
          gv.data_ptr<scalar_t>(), gav.data_ptr<scalar_t>(), gar.data_ptr<scalar_t>(),
          partial.data_ptr<scalar_t>() + b * edges * 3);
    });
  });
  return {gv, gav, gar, blocks == 1 ? partial[0] : partial.sum(0)};
}

struct VectorMessage : torch::autograd::Function<VectorMessage> {
  static Tensor forward(AutogradContext* ctx, const Tensor& v, const Tensor& av, const Tensor& ar,
                        const Tensor& unit, const Tensor& center, const Tensor& neighbor,
                        int64_t num_out) {
    ctx->save_for_backward({v, av, ar, unit, center, neighbor});
    TORCH_CHECK(v.dim() == 3 && v.size(1) == 3, "hermnet fused op: v must be [rows, 3, F]");
    TORCH_CHECK(unit.dim() == 2 && unit.size(1) == 3 && unit.size(0) == center.size(0),
                "hermnet fused op: unit must be [edges, 3]");
    if (!use_kernels(v)) return vector_message_chain(v, av, ar, unit, center, neighbor, num_out);
    return vector_message_kernel(v.contiguous(), av, ar, unit.contiguous(), center, neighbor,
                                 num_out);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const Tensor g = grads[0].contiguous();
    // A differentiable backward (create_graph) or a non-CPU device: the operator chain.
    variable_list out = torch::GradMode::is_enabled() || !use_kernels(g)
                            ? vector_message_grad_chain(g, s[0], s[1], s[2], s[3], s[4], s[5])
                            : vector_message_grad_kernel(g, s[0].contiguous(), s[1], s[2],
                                                         s[3].contiguous(), s[4], s[5]);
    out.insert(out.end(), {Tensor(), Tensor(), Tensor()});
    return out;
  }
};

// ---- edge_message: the whole message hop of one-instance-per-edge relations -----------

variable_list edge_message_chain(const Tensor& phi, const Tensor& p, const Tensor& filt,
                                 const Tensor& q, const Tensor& v, const Tensor& unit,
                                 const Tensor& center, const Tensor& neighbor, int64_t num_out) {
  const int64_t F = v.size(2);
  const auto m = (phi.index_select(0, p) * filt.index_select(0, q)).split(F, -1);
  return {vector_message_chain(v, m[0], m[2], unit, center, neighbor, num_out),
          v.new_zeros({num_out, F}).index_add(0, center, m[1])};
}

variable_list edge_message_grad_chain(const Tensor& gv, const Tensor& gs, const Tensor& phi,
                                      const Tensor& p, const Tensor& filt, const Tensor& q,
                                      const Tensor& v, const Tensor& unit, const Tensor& center,
                                      const Tensor& neighbor) {
  const int64_t F = v.size(2);
  const Tensor ph = phi.index_select(0, p), fl = filt.index_select(0, q);
  const auto m = (ph * fl).split(F, -1);
  const auto g = vector_message_grad_chain(gv, v, m[0], m[2], unit, center, neighbor);
  const Tensor gm = torch::cat({g[1], gs.index_select(0, center), g[2]}, -1);
  return {torch::zeros_like(phi).index_add(0, p, gm * fl),
          torch::zeros_like(filt).index_add(0, q, gm * ph), g[0], g[3]};
}

variable_list edge_message_kernel(const Tensor& phi, const Tensor& p, const Tensor& filt,
                                  const Tensor& q, const Tensor& v, const Tensor& unit,
                                  const Tensor& center, const Tensor& neighbor, int64_t num_out) {
  const int64_t edges = center.size(0), F = v.size(2);
  check_edges(p, edges, phi.size(0), "phi_index");
  check_edges(q, edges, filt.size(0), "filt_index");
  check_edges(center, edges, num_out, "center");
  check_edges(neighbor, edges, v.size(0), "neighbor");
  Tensor out_v = v.new_zeros({num_out, 3, F});
  Tensor out_s = v.new_zeros({num_out, F});
  AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "edge_message", [&] {
    over_blocks(F, block_count(F), [&](int64_t, int64_t f0, int64_t f1) {
      kernels::edge_message_forward<scalar_t>(
          phi.data_ptr<scalar_t>(), p.data_ptr<int64_t>(), filt.data_ptr<scalar_t>(),
          q.data_ptr<int64_t>(), v.data_ptr<scalar_t>(), unit.data_ptr<scalar_t>(),
          center.data_ptr<int64_t>(), neighbor.data_ptr<int64_t>(), edges, F, f0, f1,
          out_v.data_ptr<scalar_t>(), out_s.data_ptr<scalar_t>());
    });
  });
  return {out_v, out_s};
}

variable_list edge_message_grad_kernel(const Tensor& gv, const Tensor& gs, const Tensor& phi,
                                       const Tensor& p, const Tensor& filt, const Tensor& q,
                                       const Tensor& v, const Tensor& unit, const Tensor& center,
                                       const Tensor& neighbor) {
  const int64_t edges = center.size(0), F = v.size(2), blocks = block_count(F);
  Tensor gphi = torch::zeros_like(phi), gfilt = torch::zeros_like(filt);
  Tensor gv_in = torch::zeros_like(v);
  Tensor partial = v.new_empty({blocks, edges, 3});
  AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "edge_message_backward", [&] {
    over_blocks(F, blocks, [&](int64_t b, int64_t f0, int64_t f1) {
      kernels::edge_message_backward<scalar_t>(
          gv.data_ptr<scalar_t>(), gs.data_ptr<scalar_t>(), phi.data_ptr<scalar_t>(),
          p.data_ptr<int64_t>(), filt.data_ptr<scalar_t>(), q.data_ptr<int64_t>(),
          v.data_ptr<scalar_t>(), unit.data_ptr<scalar_t>(), center.data_ptr<int64_t>(),
          neighbor.data_ptr<int64_t>(), edges, F, f0, f1, gphi.data_ptr<scalar_t>(),
          gfilt.data_ptr<scalar_t>(), gv_in.data_ptr<scalar_t>(),
          partial.data_ptr<scalar_t>() + b * edges * 3);
    });
  });
  return {gphi, gfilt, gv_in, blocks == 1 ? partial[0] : partial.sum(0)};
}

struct EdgeMessage : torch::autograd::Function<EdgeMessage> {
  static variable_list forward(AutogradContext* ctx, const Tensor& phi, const Tensor& p,
                               const Tensor& filt, const Tensor& q, const Tensor& v,
                               const Tensor& unit, const Tensor& center, const Tensor& neighbor,
                               int64_t num_out) {
    ctx->save_for_backward({phi, p, filt, q, v, unit, center, neighbor});
    TORCH_CHECK(v.dim() == 3 && v.size(1) == 3, "hermnet fused op: v must be [rows, 3, F]");
    TORCH_CHECK(unit.dim() == 2 && unit.size(1) == 3 && unit.size(0) == center.size(0),
                "hermnet fused op: unit must be [edges, 3]");
    for (const Tensor* rows : {&phi, &filt}) {
      TORCH_CHECK(rows->dim() == 2 && rows->size(1) == 3 * v.size(2) &&
                      rows->scalar_type() == v.scalar_type(),
                  "hermnet fused op: phi and filt must be rows of 3F = ", 3 * v.size(2), " ",
                  v.scalar_type());
    }
    if (!use_kernels(v))
      return edge_message_chain(phi, p, filt, q, v, unit, center, neighbor, num_out);
    return edge_message_kernel(phi.contiguous(), p, filt.contiguous(), q, v.contiguous(),
                               unit.contiguous(), center, neighbor, num_out);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const Tensor gv = grads[0].contiguous(), gs = grads[1].contiguous();
    variable_list g =
        torch::GradMode::is_enabled() || !use_kernels(gv)
            ? edge_message_grad_chain(gv, gs, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
            : edge_message_grad_kernel(gv, gs, s[0].contiguous(), s[1], s[2].contiguous(), s[3],
                                       s[4].contiguous(), s[5].contiguous(), s[6], s[7]);
    // Inputs: phi, p, filt, q, v, unit, center, neighbor, num_out.
    return {g[0], Tensor(), g[1], Tensor(), g[2], g[3], Tensor(), Tensor(), Tensor()};
  }
};

// ---- filter_message: edge_message with the radial filter computed in the loop ---------
// The filter of an edge is its basis row times its relation's weights: basis [E, K],
// rel [E], W [R, K, 3F] (radial_filter_chain, fused_common.hpp, in the operator chain).

variable_list filter_message_chain(const Tensor& phi, const Tensor& p, const Tensor& basis,
                                   const Tensor& rel, const Tensor& W, const Tensor& v,
                                   const Tensor& unit, const Tensor& center, const Tensor& neighbor,
                                   int64_t num_out) {
  const Tensor filt = radial_filter_chain(basis, rel, W);
  const Tensor q = torch::arange(center.size(0), center.options());
  return edge_message_chain(phi, p, filt, q, v, unit, center, neighbor, num_out);
}

variable_list filter_message_grad_chain(const Tensor& gv, const Tensor& gs, const Tensor& phi,
                                        const Tensor& p, const Tensor& basis, const Tensor& rel,
                                        const Tensor& W, const Tensor& v, const Tensor& unit,
                                        const Tensor& center, const Tensor& neighbor) {
  const Tensor filt = radial_filter_chain(basis, rel, W);
  const Tensor q = torch::arange(center.size(0), center.options());
  const auto g = edge_message_grad_chain(gv, gs, phi, p, filt, q, v, unit, center, neighbor);
  const auto gr = radial_filter_grad_chain(g[1], basis, rel, W);
  return {g[0], gr[0], gr[1], g[2], g[3]};
}

void check_filter_inputs(const Tensor& basis, const Tensor& rel, const Tensor& W, const Tensor& v,
                         int64_t edges) {
  TORCH_CHECK(basis.dim() == 2 && basis.size(0) == edges && basis.scalar_type() == v.scalar_type(),
              "hermnet fused op: basis must be [", edges, ", K] ", v.scalar_type());
  TORCH_CHECK(W.dim() == 3 && W.size(1) == basis.size(1) && W.size(2) == 3 * v.size(2) &&
                  W.scalar_type() == v.scalar_type(),
              "hermnet fused op: weight must be [relations, ", basis.size(1), ", ", 3 * v.size(2),
              "] ", v.scalar_type());
  check_edges(rel, edges, W.size(0), "relation");
}

// Returns {out_v, out_s}.
variable_list filter_message_kernel(const Tensor& phi, const Tensor& p, const Tensor& basis,
                                    const Tensor& rel, const Tensor& W, const Tensor& v,
                                    const Tensor& unit, const Tensor& center,
                                    const Tensor& neighbor, int64_t num_out) {
  const int64_t edges = center.size(0), F = v.size(2), K = basis.size(1);
  check_edges(p, edges, phi.size(0), "phi_index");
  check_edges(center, edges, num_out, "center");
  check_edges(neighbor, edges, v.size(0), "neighbor");
  Tensor out_v = v.new_zeros({num_out, 3, F});
  Tensor out_s = v.new_zeros({num_out, F});
  const EdgeParts parts = edge_parts(center, edges);
  AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "filter_message", [&] {
    at::parallel_for(0, parts.count(), 1, [&](int64_t k0, int64_t k1) {
      std::vector<scalar_t> scratch(kernels::kEdgeGroup * 3 * F);
      for (int64_t k = k0; k < k1; ++k) {
        const int64_t e0 = parts.begin[k], n = parts.begin[k + 1] - e0;
        kernels::filter_message_forward(
            phi.data_ptr<scalar_t>(), p.data_ptr<int64_t>() + e0,
            basis.data_ptr<scalar_t>() + e0 * K, K, rel.data_ptr<int64_t>() + e0,
            W.data_ptr<scalar_t>(), v.data_ptr<scalar_t>(), unit.data_ptr<scalar_t>() + e0 * 3,
            center.data_ptr<int64_t>() + e0, neighbor.data_ptr<int64_t>() + e0, n, F, int64_t{0}, F,
            out_v.data_ptr<scalar_t>(), out_s.data_ptr<scalar_t>(), scratch.data());
      }
    });
  });
  return {out_v, out_s};
}

variable_list filter_message_grad_kernel(const Tensor& gv, const Tensor& gs, const Tensor& phi,
                                         const Tensor& p, const Tensor& basis, const Tensor& rel,
                                         const Tensor& W, const Tensor& v, const Tensor& unit,
                                         const Tensor& center, const Tensor& neighbor,
                                         bool weight_grad) {
  const int64_t edges = center.size(0), F = v.size(2), K = basis.size(1);
  const EdgeParts parts = edge_parts(center, edges);
  const int64_t n_parts = parts.count();
  // Part k > 0 sums the neighbor side into its own slice k of these; slice 0 is the result.
  Tensor gphi = phi.new_zeros({n_parts, phi.size(0), phi.size(1)});
  Tensor gv_in = v.new_zeros({n_parts, v.size(0), 3, F});
  Tensor gW = weight_grad ? W.new_zeros({n_parts, W.size(0), W.size(1), W.size(2)}) : Tensor();
  Tensor gbasis = v.new_empty({edges, K});
  Tensor partial = v.new_empty({edges, 3});
  int64_t Kp = 0;
  const Tensor Wt = transposed_padded_weights(W, &Kp);
  AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "filter_message_backward", [&] {
    at::parallel_for(0, n_parts, 1, [&](int64_t k0, int64_t k1) {
      std::vector<scalar_t> scratch(2 * kernels::kEdgeGroup * 3 * F);
      for (int64_t k = k0; k < k1; ++k) {
        const int64_t e0 = parts.begin[k], n = parts.begin[k + 1] - e0;
        scalar_t* gw = weight_grad ? gW[k].data_ptr<scalar_t>() : nullptr;
        kernels::filter_message_backward(
            gv.data_ptr<scalar_t>(), gs.data_ptr<scalar_t>(), phi.data_ptr<scalar_t>(),
            p.data_ptr<int64_t>() + e0, basis.data_ptr<scalar_t>() + e0 * K, K,
            rel.data_ptr<int64_t>() + e0, W.data_ptr<scalar_t>(), Wt.data_ptr<scalar_t>(), Kp,
            v.data_ptr<scalar_t>(), unit.data_ptr<scalar_t>() + e0 * 3,
            center.data_ptr<int64_t>() + e0, neighbor.data_ptr<int64_t>() + e0, n, F, int64_t{0}, F,
            gphi[k].data_ptr<scalar_t>(), gbasis.data_ptr<scalar_t>() + e0 * K, gw,
            gv_in[k].data_ptr<scalar_t>(), partial.data_ptr<scalar_t>() + e0 * 3, scratch.data());
      }
    });
  });
  return {sum_in_order(gphi), gbasis, weight_grad ? sum_in_order(gW) : gW, sum_in_order(gv_in),
          partial};
}

struct FilterMessage : torch::autograd::Function<FilterMessage> {
  static variable_list forward(AutogradContext* ctx, const Tensor& phi, const Tensor& p,
                               const Tensor& basis, const Tensor& rel, const Tensor& W,
                               const Tensor& v, const Tensor& unit, const Tensor& center,
                               const Tensor& neighbor, int64_t num_out) {
    TORCH_CHECK(v.dim() == 3 && v.size(1) == 3, "hermnet fused op: v must be [rows, 3, F]");
    TORCH_CHECK(unit.dim() == 2 && unit.size(1) == 3 && unit.size(0) == center.size(0),
                "hermnet fused op: unit must be [edges, 3]");
    TORCH_CHECK(
        phi.dim() == 2 && phi.size(1) == 3 * v.size(2) && phi.scalar_type() == v.scalar_type(),
        "hermnet fused op: phi must be rows of 3F = ", 3 * v.size(2), " ", v.scalar_type());
    check_filter_inputs(basis, rel, W, v, center.size(0));
    const variable_list out =
        use_kernels(v)
            ? filter_message_kernel(phi.contiguous(), p, basis.contiguous(), rel, W.contiguous(),
                                    v.contiguous(), unit.contiguous(), center, neighbor, num_out)
            : filter_message_chain(phi, p, basis, rel, W, v, unit, center, neighbor, num_out);
    ctx->save_for_backward({phi, p, basis, rel, W, v, unit, center, neighbor});
    return {out[0], out[1]};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const Tensor gv = grads[0].contiguous(), gs = grads[1].contiguous();
    // The chain for a differentiable backward and on other devices.
    const bool chain = torch::GradMode::is_enabled() || !use_kernels(gv);
    variable_list g =
        chain ? filter_message_grad_chain(gv, gs, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
                                          s[8])
              : filter_message_grad_kernel(gv, gs, s[0].contiguous(), s[1], s[2].contiguous(), s[3],
                                           s[4].contiguous(), s[5].contiguous(), s[6].contiguous(),
                                           s[7], s[8], ctx->needs_input_grad(4));
    // Inputs: phi, p, basis, rel, W, v, unit, center, neighbor, num_out.
    return {g[0], Tensor(), g[1], Tensor(), g[2], g[3], g[4], Tensor(), Tensor(), Tensor()};
  }
};

// ---- gather_scale_add: out[dst] += x[src] * w, summed over edges ------------------------

Tensor gather_scale_add_chain(const Tensor& x, const Tensor& w, const Tensor& src,
                              const Tensor& dst, int64_t num_out) {
  return x.new_zeros({num_out, x.size(1)})
      .index_add(0, dst, x.index_select(0, src) * w.unsqueeze(1));
}

Tensor gather_scale_add_kernel(const Tensor& x, const Tensor& w, const Tensor& src,
                               const Tensor& dst, int64_t num_out) {
  const int64_t edges = src.size(0), D = x.size(1);
  check_edges(src, edges, x.size(0), "src");
  check_edges(dst, edges, num_out, "dst");
  Tensor out = x.new_zeros({num_out, D});
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gather_scale_add", [&] {
    over_blocks(D, block_count(D), [&](int64_t, int64_t k0, int64_t k1) {
      kernels::gather_scale_add_forward<scalar_t>(x.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(),
                                                  src.data_ptr<int64_t>(), dst.data_ptr<int64_t>(),
                                                  edges, D, k0, k1, out.data_ptr<scalar_t>());
    });
  });
  return out;
}

variable_list gather_scale_add_grad_chain(const Tensor& g, const Tensor& x, const Tensor& w,
                                          const Tensor& src, const Tensor& dst) {
  const Tensor gd = g.index_select(0, dst);
  return {torch::zeros_like(x).index_add(0, src, gd * w.unsqueeze(1)),
          (gd * x.index_select(0, src)).sum(1)};
}

variable_list gather_scale_add_grad_kernel(const Tensor& g, const Tensor& x, const Tensor& w,
                                           const Tensor& src, const Tensor& dst) {
  const int64_t edges = src.size(0), D = x.size(1), blocks = block_count(D);
  Tensor gx = torch::zeros_like(x);
  Tensor partial = x.new_empty({blocks, edges});
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gather_scale_add_backward", [&] {
    over_blocks(D, blocks, [&](int64_t b, int64_t k0, int64_t k1) {
      kernels::gather_scale_add_backward<scalar_t>(
          g.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(),
          src.data_ptr<int64_t>(), dst.data_ptr<int64_t>(), edges, D, k0, k1,
          gx.data_ptr<scalar_t>(), partial.data_ptr<scalar_t>() + b * edges);
    });
  });
  return {gx, blocks == 1 ? partial[0] : partial.sum(0)};
}

struct GatherScaleAdd : torch::autograd::Function<GatherScaleAdd> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& src,
                        const Tensor& dst, int64_t num_out) {
    ctx->save_for_backward({x, w, src, dst});
    TORCH_CHECK(x.dim() == 2, "hermnet fused op: x must be [rows, D]");
    TORCH_CHECK(w.dim() == 1 && w.size(0) == src.size(0) && w.scalar_type() == x.scalar_type(),
                "hermnet fused op: w must be one ", x.scalar_type(), " weight per edge");
    if (!use_kernels(x)) return gather_scale_add_chain(x, w, src, dst, num_out);
    return gather_scale_add_kernel(x.contiguous(), w.contiguous(), src, dst, num_out);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const Tensor g = grads[0].contiguous();
    variable_list out =
        torch::GradMode::is_enabled() || !use_kernels(g)
            ? gather_scale_add_grad_chain(g, s[0], s[1], s[2], s[3])
            : gather_scale_add_grad_kernel(g, s[0].contiguous(), s[1].contiguous(), s[2], s[3]);
    out.insert(out.end(), {Tensor(), Tensor(), Tensor()});
    return out;
  }
};

Tensor vector_message(const Tensor& v, const Tensor& a_v, const Tensor& a_r, const Tensor& unit,
                      const Tensor& center, const Tensor& neighbor, int64_t num_out) {
  return VectorMessage::apply(v, a_v, a_r, unit, center, neighbor, num_out);
}

std::tuple<Tensor, Tensor> edge_message(const Tensor& phi, const Tensor& phi_index,
                                        const Tensor& filt, const Tensor& filt_index,
                                        const Tensor& v, const Tensor& unit, const Tensor& center,
                                        const Tensor& neighbor, int64_t num_out) {
  const auto out =
      EdgeMessage::apply(phi, phi_index, filt, filt_index, v, unit, center, neighbor, num_out);
  return {out[0], out[1]};
}

std::tuple<Tensor, Tensor> filter_message(const Tensor& phi, const Tensor& phi_index,
                                          const Tensor& basis, const Tensor& relation,
                                          const Tensor& weight, const Tensor& v, const Tensor& unit,
                                          const Tensor& center, const Tensor& neighbor,
                                          int64_t num_out) {
  const auto out = FilterMessage::apply(phi, phi_index, basis, relation, weight, v, unit, center,
                                        neighbor, num_out);
  return {out[0], out[1]};
}

Tensor gather_scale_add(const Tensor& x, const Tensor& w, const Tensor& src, const Tensor& dst,
                        int64_t num_out) {
  return GatherScaleAdd::apply(x, w, src, dst, num_out);
}

}  // namespace

// Registered without a dispatch key (CompositeImplicitAutograd): autograd goes through the
// Functions above on every device.
TORCH_LIBRARY(hermnet, m) {
  m.def(
      "vector_message(Tensor v, Tensor a_v, Tensor a_r, Tensor unit, Tensor center, "
      "Tensor neighbor, int num_out) -> Tensor",
      &vector_message);
  m.def(
      "edge_message(Tensor phi, Tensor phi_index, Tensor filt, Tensor filt_index, Tensor v, "
      "Tensor unit, Tensor center, Tensor neighbor, int num_out) -> (Tensor, Tensor)",
      &edge_message);
  m.def(
      "filter_message(Tensor phi, Tensor phi_index, Tensor basis, Tensor relation, "
      "Tensor weight, Tensor v, Tensor unit, Tensor center, Tensor neighbor, int num_out) -> "
      "(Tensor, Tensor)",
      &filter_message);
  m.def("gather_scale_add(Tensor x, Tensor w, Tensor src, Tensor dst, int num_out) -> Tensor",
        &gather_scale_add);
}

}  // namespace hermnet
