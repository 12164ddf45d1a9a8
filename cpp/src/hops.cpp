// Model::compute_exchanged: the forward pass hop by hop with ghost exchange, and its backward
// hop by hop with ghost gradients sent home (the C++ twin of hermnet/export/hops.py).
//
// Forward, hop k maps x_k to y_k; the engine turns y_k into x_{k+1} by overwriting ghost rows
// with their owners' rows. Each x_{k+1} is a fresh leaf, so autograd never crosses an
// exchange. Backward, dE/dx_{k+1} is known on every row; a ghost's share belongs to its owner
// (reverse exchange), and ghost rows of y_k were discarded, so dE/dy_k is the summed gradient
// on local rows and zero on ghost rows. The hops read the edge geometry (unit vectors, radial
// basis, ...) through detached leaves whose gradients accumulate over the hops; one backward
// pass through the geometry then gives dE/d(edge vectors). (Differentiating each hop through
// the shared geometry ran its backward once per hop: 3x the per-edge elementwise work.)
#include <c10/core/DeviceGuard.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include "guards.hpp"
#include "hermnet/keys.hpp"
#include "hermnet/model.hpp"
#include "model_impl.hpp"
#include "rows.hpp"

namespace hermnet {

GeometryLeaves::GeometryLeaves(const c10::IValue& geometry) {
  const auto tuple = geometry.toTuple();
  std::vector<c10::IValue> elements;
  for (const c10::IValue& element : tuple->elements()) {
    if (element.isTensor() && element.toTensor().requires_grad()) {
      from_edges.push_back(element.toTensor());
      leaf_tensors.push_back(element.toTensor().detach().requires_grad_(true));
      elements.emplace_back(leaf_tensors.back());
    } else {
      elements.push_back(element);
    }
  }
  leaves = c10::ivalue::Tuple::createNamed(std::move(elements), tuple->type());
}

Outputs finish_hops(torch::jit::Module& module, const torch::Tensor& edge_vec,
                    const torch::Tensor& edge_grad, const torch::Tensor& edge_index, int64_t n_all,
                    const Request& request, Outputs energies) {
  const auto derived = module
                           .get_method(keys::HOP_DERIVATIVES)(
                               {edge_vec, edge_grad, edge_index, n_all, request.forces,
                                request.virial, request.atomic_virial})
                           .toGenericDict();
  Outputs results = read_outputs(derived, request);
  results.energy = energies.energy;
  results.atomic_energy = std::move(energies.atomic_energy);
  return results;
}

bool Model::has_hop_interface() const { return impl_->metadata.hop_interface >= 1; }

int64_t Model::exchange_width() const { return impl_->exchange_width; }

void Model::set_chunk_edges(int64_t max_edges) {
  if (max_edges < 0) throw Error("chunk size must be a positive number of edges, or 0 for none");
  if (max_edges > 0 && !has_hop_interface()) {
    throw Error(impl_->path +
                " has no hop-by-hop methods (exported by an older hermnet), which chunked "
                "evaluation needs; re-export it with `hermnet export`");
  }
  impl_->chunk_edges = max_edges;
}

int64_t Model::chunk_edges() const { return impl_->chunk_edges; }

bool Model::chunked(const Inputs& in) const {
  return impl_->chunk_edges > 0 && in.n_edges > impl_->chunk_edges;
}

Outputs Model::compute_exchanged(const Inputs& in, GhostExchange& exchange,
                                 const Request& request) const {
  if (!has_hop_interface()) {
    throw Error(impl_->path +
                " has no hop-by-hop methods (exported by an older hermnet), which ghost exchange "
                "needs; re-export it with `hermnet export`, or use the deep ghost shell");
  }
  if (impl_->metadata.hop_interface > keys::HOP_INTERFACE_VERSION) {
    throw Error(impl_->path + " has hop interface version " +
                std::to_string(impl_->metadata.hop_interface) + ", newer than this core (" +
                std::to_string(keys::HOP_INTERFACE_VERSION) + "); rebuild from a newer hermnet");
  }
  const c10::DeviceGuard on_device(impl_->device);
  const GraphTensors g = impl_->tensors(in);
  check_finite_inputs(in);
  Outputs out;
  try {
    out = chunked(in) && in.n_local != 0 ? run_chunked(g, in, &exchange, request)
                                         : run_hops(g, in, exchange, request);
  } catch (...) {
    rethrow_as_error(impl_->metadata, device(), in);
  }
  check_finite_outputs(out, in);
  return out;
}

Outputs Model::run_hops(const GraphTensors& g, const Inputs& in, GhostExchange& exchange,
                        const Request& request) const {
  const int64_t n = in.n_all;
  const int hops = impl_->metadata.num_message_hops;
  torch::AutoGradMode grad_mode(true);
  torch::jit::GraphOptimizerEnabledGuard optimize(impl_->device.is_cuda());
  torch::jit::Module& module = impl_->module;
  const auto call = [&](const char* method, std::vector<c10::IValue> args) {
    return module.get_method(method)(std::move(args));
  };

  auto embedded = call(keys::HOP_EMBED, {g.types}).toTuple();
  torch::Tensor s = embedded->elements()[0].toTensor();
  torch::Tensor v = embedded->elements()[1].toTensor();
  Rows rows(impl_->exchange_rows, n, s.size(1), v.size(2), impl_->device.is_cuda());

  Outputs out;
  if (g.n_local == 0) {
    // Nothing of ours to compute, but our neighbors' exchanges pass through us.
    rows.store(torch::zeros({n, rows.width()}, torch::kFloat64));
    for (int k = 0; k < 2 * hops; ++k) {
      if (k < hops) {
        exchange.forward(rows.data(), n, rows.width());
      } else {
        exchange.reverse(rows.data(), n, rows.width());
      }
    }
    if (request.forces) out.forces.assign(3 * n, 0.0);
    if (request.atomic_virial) out.atomic_virial.assign(9 * n, 0.0);
    return out;
  }

  // Files that have hop_prepare_rows skip the per-atom update of ghost rows, which the
  // forward exchange below overwrites anyway (older files compute and discard it).
  auto prepared =
      module.find_method(keys::HOP_PREPARE_ROWS)
          ? call(keys::HOP_PREPARE_ROWS, {g.positions, g.types, g.edge_index, g.shifts, g.n_local})
          : call(keys::HOP_PREPARE, {g.positions, g.types, g.edge_index, g.shifts});
  const torch::Tensor edge_vec = prepared.toTuple()->elements()[0].toTensor();
  const GeometryLeaves geo(prepared.toTuple()->elements()[1]);
  const c10::IValue& geometry = geo.leaves;
  const c10::IValue index = prepared.toTuple()->elements()[2];
  std::vector<torch::Tensor> geometry_grad(geo.from_edges.size());

  std::vector<torch::Tensor> inputs;             // x_k: the exchanged [n, F + 3W] leaf (k >= 1)
  std::vector<std::array<torch::Tensor, 2>> ys;  // y_k: hop k's (s, v), with their graph
  for (int k = 0; k < hops; ++k) {
    auto y = call(keys::HOP, {static_cast<int64_t>(k), s, v, geometry, index}).toTuple();
    ys.push_back({y->elements()[0].toTensor(), y->elements()[1].toTensor()});
    rows.store(ys.back()[0], ys.back()[1]);
    exchange.forward(rows.data(), n, rows.width());
    torch::Tensor x = rows.load(impl_->device, impl_->dtype).requires_grad_(true);
    inputs.push_back(x);
    s = rows.scalars(x);
    v = rows.vectors(x);
  }
  const torch::Tensor atomic = call(keys::HOP_READOUT, {s, g.types, g.n_local}).toTensor();
  const torch::Tensor energy = atomic.sum();
  out.energy = energy.detach().item<double>();
  copy_out(atomic, out.atomic_energy);

  torch::Tensor edge_grad = torch::zeros_like(edge_vec);
  torch::Tensor grad_x = torch::autograd::grad({energy}, {inputs.back()}, {}, true, false, true)[0];
  for (int k = hops - 1; k >= 0; --k) {
    rows.store(grad_x.defined() ? grad_x : torch::zeros_like(inputs.back()));
    exchange.reverse(rows.data(), n, rows.width());
    rows.zero_rows_from(g.n_local);
    const torch::Tensor grad_y = rows.load(impl_->device, impl_->dtype);
    std::vector<torch::Tensor> outputs, grad_outputs;
    const torch::Tensor grad_parts[2] = {rows.scalars(grad_y), rows.vectors(grad_y)};
    for (int part = 0; part < 2; ++part) {
      if (!ys[k][part].requires_grad()) continue;
      outputs.push_back(ys[k][part]);
      grad_outputs.push_back(grad_parts[part].contiguous());
    }
    grad_x = torch::Tensor();
    if (outputs.empty()) continue;
    std::vector<torch::Tensor> wrt(geo.leaf_tensors);
    if (k > 0) wrt.push_back(inputs[k - 1]);
    const auto grads = torch::autograd::grad(outputs, wrt, grad_outputs, false, false, true);
    for (size_t i = 0; i < geometry_grad.size(); ++i) {
      if (!grads[i].defined()) continue;
      geometry_grad[i] = geometry_grad[i].defined() ? geometry_grad[i] + grads[i] : grads[i];
    }
    if (k > 0) grad_x = grads.back();
  }
  std::vector<torch::Tensor> reached, reached_grad;
  for (size_t i = 0; i < geometry_grad.size(); ++i) {
    if (!geometry_grad[i].defined()) continue;
    reached.push_back(geo.from_edges[i]);
    reached_grad.push_back(geometry_grad[i]);
  }
  if (!reached.empty()) {
    const auto grads = torch::autograd::grad(reached, {edge_vec}, reached_grad, false, false, true);
    if (grads[0].defined()) edge_grad += grads[0];
  }

  return finish_hops(module, edge_vec, edge_grad, g.edge_index, n, request, std::move(out));
}

}  // namespace hermnet
