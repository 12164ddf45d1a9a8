// hermnet::moment_message: the rank-2 neighbor moments of the painn2 and painn2v blocks,
// which an exported model calls in place of PaiNN2Conv.moment_message_chain
// (hermnet/nn/painn2.py, hermnet/nn/fused.py):
//
//     Q[c] = sum over c's edges e of Y2(u_e) (x) (phi[p_e] * basis[e] W[rel_e])  -> [n, 5, F]
//
// On CPU tensors it runs the single-pass loops of moment_kernels.hpp, forward and backward;
// on other devices, and for a backward that must itself be differentiable (create_graph),
// the operator chains below, as the operators of fused_ops.cpp do.
#include <torch/autograd.h>
#include <torch/library.h>
#include <torch/script.h>

#include <vector>

#include "fused_common.hpp"
#include "moment_kernels.hpp"

namespace hermnet {

void link_moment_ops() {}  // called by Model's constructor so static linking keeps this file

namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using namespace fused;

constexpr double kSqrt3 = 1.7320508075688772;

Tensor l2_harmonics_chain(const Tensor& unit) {
  const Tensor x = unit.select(1, 0), y = unit.select(1, 1), z = unit.select(1, 2);
  return torch::stack({kSqrt3 * x * y, kSqrt3 * y * z, 1.5 * z * z - 0.5, kSqrt3 * x * z,
                       0.5 * kSqrt3 * (x * x - y * y)},
                      1);
}

Tensor l2_harmonics_grad_chain(const Tensor& unit, const Tensor& gy) {
  const Tensor x = unit.select(1, 0), y = unit.select(1, 1), z = unit.select(1, 2);
  const Tensor g0 = gy.select(1, 0), g1 = gy.select(1, 1), g2 = gy.select(1, 2),
               g3 = gy.select(1, 3), g4 = gy.select(1, 4);
  return torch::stack({kSqrt3 * (y * g0 + z * g3 + x * g4), kSqrt3 * (x * g0 + z * g1 - y * g4),
                       kSqrt3 * (y * g1 + x * g3) + 3.0 * z * g2},
                      1);
}

Tensor moment_message_chain(const Tensor& phi, const Tensor& p, const Tensor& basis,
                            const Tensor& rel, const Tensor& W, const Tensor& unit,
                            const Tensor& center, int64_t num_out) {
  const Tensor a = phi.index_select(0, p) * radial_filter_chain(basis, rel, W);
  return phi.new_zeros({num_out, 5, phi.size(1)})
      .index_add(0, center, l2_harmonics_chain(unit).unsqueeze(2) * a.unsqueeze(1));
}

// {d/dphi, d/dbasis, d/dW, d/dunit} as differentiable operators (exact higher derivatives).
variable_list moment_message_grad_chain(const Tensor& g, const Tensor& phi, const Tensor& p,
                                        const Tensor& basis, const Tensor& rel, const Tensor& W,
                                        const Tensor& unit, const Tensor& center) {
  const Tensor filt = radial_filter_chain(basis, rel, W);
  const Tensor ph = phi.index_select(0, p);
  const Tensor ge = g.index_select(0, center);                            // [E, 5, F]
  const Tensor ga = (ge * l2_harmonics_chain(unit).unsqueeze(2)).sum(1);  // [E, F]
  const Tensor gy = (ge * (ph * filt).unsqueeze(1)).sum(2);               // [E, 5]
  const Tensor gphi = torch::zeros_like(phi).index_add(0, p, ga * filt);
  const auto gr = radial_filter_grad_chain(ga * ph, basis, rel, W);
  return {gphi, gr[0], gr[1], l2_harmonics_grad_chain(unit, gy)};
}

Tensor moment_message_kernel(const Tensor& phi, const Tensor& p, const Tensor& basis,
                             const Tensor& rel, const Tensor& W, const Tensor& unit,
                             const Tensor& center, int64_t num_out) {
  const int64_t edges = center.size(0), F = phi.size(1), K = basis.size(1);
  Tensor out = phi.new_zeros({num_out, 5, F});
  const EdgeParts parts = edge_parts(center, edges);
  AT_DISPATCH_FLOATING_TYPES(phi.scalar_type(), "moment_message", [&] {
    at::parallel_for(0, parts.count(), 1, [&](int64_t k0, int64_t k1) {
      std::vector<scalar_t> scratch(kernels::kEdgeGroup * F);
      for (int64_t k = k0; k < k1; ++k) {
        const int64_t e0 = parts.begin[k], n = parts.begin[k + 1] - e0;
        kernels::moment_message_forward(
            phi.data_ptr<scalar_t>(), p.data_ptr<int64_t>() + e0,
            basis.data_ptr<scalar_t>() + e0 * K, K, rel.data_ptr<int64_t>() + e0,
            W.data_ptr<scalar_t>(), unit.data_ptr<scalar_t>() + e0 * 3,
            center.data_ptr<int64_t>() + e0, n, F, out.data_ptr<scalar_t>(), scratch.data());
      }
    });
  });
  return out;
}

variable_list moment_message_grad_kernel(const Tensor& g, const Tensor& phi, const Tensor& p,
                                         const Tensor& basis, const Tensor& rel, const Tensor& W,
                                         const Tensor& unit, const Tensor& center,
                                         bool weight_grad) {
  const int64_t edges = center.size(0), F = phi.size(1), K = basis.size(1);
  const EdgeParts parts = edge_parts(center, edges);
  const int64_t n_parts = parts.count();
  // Part k > 0 sums the neighbor side into its own slice k; slice 0 is the result.
  Tensor gphi = phi.new_zeros({n_parts, phi.size(0), F});
  Tensor gW = weight_grad ? W.new_zeros({n_parts, W.size(0), K, F}) : Tensor();
  Tensor gbasis = basis.new_empty({edges, K});
  Tensor gunit = unit.new_empty({edges, 3});
  int64_t Kp = 0;
  const Tensor Wt = transposed_padded_weights(W, &Kp);
  AT_DISPATCH_FLOATING_TYPES(phi.scalar_type(), "moment_message_backward", [&] {
    at::parallel_for(0, n_parts, 1, [&](int64_t k0, int64_t k1) {
      std::vector<scalar_t> scratch(2 * kernels::kEdgeGroup * F);
      for (int64_t k = k0; k < k1; ++k) {
        const int64_t e0 = parts.begin[k], n = parts.begin[k + 1] - e0;
        kernels::moment_message_backward(
            g.data_ptr<scalar_t>(), phi.data_ptr<scalar_t>(), p.data_ptr<int64_t>() + e0,
            basis.data_ptr<scalar_t>() + e0 * K, K, rel.data_ptr<int64_t>() + e0,
            W.data_ptr<scalar_t>(), Wt.data_ptr<scalar_t>(), Kp, unit.data_ptr<scalar_t>() + e0 * 3,
            center.data_ptr<int64_t>() + e0, n, F, gphi[k].data_ptr<scalar_t>(),
            gbasis.data_ptr<scalar_t>() + e0 * K,
            weight_grad ? gW[k].data_ptr<scalar_t>() : nullptr, gunit.data_ptr<scalar_t>() + e0 * 3,
            scratch.data());
      }
    });
  });
  return {sum_in_order(gphi), gbasis, weight_grad ? sum_in_order(gW) : gW, gunit};
}

void check_moment_inputs(const Tensor& phi, const Tensor& p, const Tensor& basis, const Tensor& rel,
                         const Tensor& W, const Tensor& unit, const Tensor& center,
                         int64_t num_out) {
  const int64_t edges = center.size(0);
  TORCH_CHECK(phi.dim() == 2 && phi.is_floating_point(),
              "hermnet fused op: phi must be [rows, F] floating-point rows");
  TORCH_CHECK(
      basis.dim() == 2 && basis.size(0) == edges && basis.scalar_type() == phi.scalar_type(),
      "hermnet fused op: basis must be [", edges, ", K] ", phi.scalar_type());
  TORCH_CHECK(W.dim() == 3 && W.size(1) == basis.size(1) && W.size(2) == phi.size(1) &&
                  W.scalar_type() == phi.scalar_type(),
              "hermnet fused op: weight must be [relations, ", basis.size(1), ", ", phi.size(1),
              "] ", phi.scalar_type());
  TORCH_CHECK(unit.dim() == 2 && unit.size(0) == edges && unit.size(1) == 3 &&
                  unit.scalar_type() == phi.scalar_type(),
              "hermnet fused op: unit must be [edges, 3] ", phi.scalar_type());
  check_edges(p, edges, phi.size(0), "phi_index");
  check_edges(rel, edges, W.size(0), "relation");
  check_edges(center, edges, num_out, "center");
}

struct MomentMessage : torch::autograd::Function<MomentMessage> {
  static Tensor forward(AutogradContext* ctx, const Tensor& phi, const Tensor& p,
                        const Tensor& basis, const Tensor& rel, const Tensor& W, const Tensor& unit,
                        const Tensor& center, int64_t num_out) {
    check_moment_inputs(phi, p, basis, rel, W, unit, center, num_out);
    ctx->save_for_backward({phi, p, basis, rel, W, unit, center});
    if (!use_kernels(phi))
      return moment_message_chain(phi, p, basis, rel, W, unit, center, num_out);
    return moment_message_kernel(phi.contiguous(), p, basis.contiguous(), rel, W.contiguous(),
                                 unit.contiguous(), center, num_out);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const Tensor g = grads[0].contiguous();
    // The chain for a differentiable backward and on other devices.
    const bool chain = torch::GradMode::is_enabled() || !use_kernels(g);
    const variable_list d =
        chain ? moment_message_grad_chain(g, s[0], s[1], s[2], s[3], s[4], s[5], s[6])
              : moment_message_grad_kernel(g, s[0].contiguous(), s[1], s[2].contiguous(), s[3],
                                           s[4].contiguous(), s[5].contiguous(), s[6],
                                           ctx->needs_input_grad(4));
    // Inputs: phi, p, basis, rel, W, unit, center, num_out.
    return {d[0], Tensor(), d[1], Tensor(), d[2], d[3], Tensor(), Tensor()};
  }
};

Tensor moment_message(const Tensor& phi, const Tensor& phi_index, const Tensor& basis,
                      const Tensor& relation, const Tensor& weight, const Tensor& unit,
                      const Tensor& center, int64_t num_out) {
  return MomentMessage::apply(phi, phi_index, basis, relation, weight, unit, center, num_out);
}

}  // namespace

// Registered without a dispatch key, as the operators of fused_ops.cpp.
TORCH_LIBRARY_FRAGMENT(hermnet, m) {
  m.def(
      "moment_message(Tensor phi, Tensor phi_index, Tensor basis, Tensor relation, "
      "Tensor weight, Tensor unit, Tensor center, int num_out) -> Tensor",
      &moment_message);
}

}  // namespace hermnet
