// Model::run_chunked: the hop-by-hop pass with memory bounded by a chunk of edges, not by the
// whole graph.
//
// Autograd through the whole graph keeps ~45 F L values per edge alive until the backward
// pass (docs/model.md), which is what limits the system size. Here the local atoms are cut
// into spatially compact chunks of at most `max_edges` edges. Hop k's output row of atom i
// depends only on i's edges and the rows of i's neighbors, so running the exported `hop` on
// the sub-graph of one chunk's centers and their neighbors gives the chunk's rows exactly.
// Forward runs every hop chunk by chunk without a graph and keeps only each hop's input
// rows (F + 3W values per atom and hop). Backward recomputes hop k one chunk at a time with
// a graph, differentiates it at once and frees it: dE/d(inputs of hop k) is scattered back
// to all atoms, dE/d(edge vectors) to the chunk's edges. The price is one more forward pass
// (and the per-atom layers of each chunk's halo atoms); the results are those of
// Model::compute to rounding.
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <vector>

#include "hermnet/keys.hpp"
#include "hermnet/model.hpp"
#include "model_impl.hpp"
#include "rows.hpp"

namespace hermnet {
namespace {

// One chunk: its centers, the sub-graph of their edges, and the atoms those edges reach.
struct Chunk {
  torch::Tensor nodes;    // model atoms of the sub-graph: the chunk's centers first, then halo
  int64_t n_centers = 0;  // nodes[0 .. n_centers) are the centers
  torch::Tensor edges;    // edge ids in the full graph
  torch::Tensor positions, types, edge_index, shifts;  // the sub-graph, relabelled
};

// Spreads the low 21 bits of x so that two zero bits separate each (Morton interleave).
torch::Tensor spread_bits(torch::Tensor x) {
  const auto step = [](const torch::Tensor& t, int64_t shift, int64_t mask) {
    return torch::bitwise_and(torch::bitwise_or(t, torch::bitwise_left_shift(t, shift)), mask);
  };
  x = step(x, 32, 0x1f00000000ffffLL);
  x = step(x, 16, 0x1f0000ff0000ffLL);
  x = step(x, 8, 0x100f00f00f00f00fLL);
  x = step(x, 4, 0x10c30c30c30c30c3LL);
  return step(x, 2, 0x1249249249249249LL);
}

// Atoms in Z order of their cell (`bin` Å): consecutive runs of this order are compact
// blocks, so a chunk's halo is a thin shell and its per-atom work stays small.
torch::Tensor spatial_order(const torch::Tensor& positions, double bin) {
  const torch::Tensor p = positions.to(torch::kFloat64);
  const torch::Tensor lowest = std::get<0>(p.min(0));
  const torch::Tensor cell =
      ((p - lowest) / bin).floor().to(torch::kInt64).clamp(0, (int64_t{1} << 21) - 1);
  const torch::Tensor key = torch::bitwise_or(
      torch::bitwise_or(spread_bits(cell.select(1, 0)),
                        torch::bitwise_left_shift(spread_bits(cell.select(1, 1)), 1)),
      torch::bitwise_left_shift(spread_bits(cell.select(1, 2)), 2));
  return std::get<1>(key.sort(/*stable=*/std::optional<bool>(true), 0));
}

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kInt64).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// Chunks of the centers 0 .. n_centers-1, each with at most max_edges edges (or one center).
// Edges of other centers (ghosts, with an exchange) are left out.
std::vector<Chunk> plan_chunks(const GraphTensors& g, int64_t n_centers, int64_t max_edges,
                               double bin) {
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(g.types.device());
  const int64_t n_all = g.types.size(0);
  const torch::Tensor center = g.edge_index[0], neighbor = g.edge_index[1];

  const torch::Tensor order = spatial_order(g.positions.narrow(0, 0, n_centers), bin);
  const torch::Tensor degree =
      torch::bincount(center, {}, n_all).narrow(0, 0, n_centers).index_select(0, order);
  // A new chunk starts where the running edge count passes a multiple of max_edges.
  const torch::Tensor before = torch::cumsum(degree, 0) - degree;
  const torch::Tensor raw_chunk = torch::div(before, max_edges, "floor");
  const auto consecutive = torch::unique_consecutive(raw_chunk, /*return_inverse=*/true);
  const torch::Tensor chunk_of_ordered = std::get<1>(consecutive);
  const int64_t n_chunks = std::get<0>(consecutive).size(0);

  torch::Tensor label = torch::full({n_all}, n_chunks, i64);  // ghosts: past the last chunk
  label.index_copy_(0, order, chunk_of_ordered);
  const torch::Tensor edge_chunk = label.index_select(0, center);
  const torch::Tensor edge_order =
      std::get<1>(edge_chunk.sort(/*stable=*/std::optional<bool>(true), 0));
  const auto center_counts = to_vector(torch::bincount(chunk_of_ordered, {}, n_chunks));
  const auto edge_counts = to_vector(torch::bincount(edge_chunk, {}, n_chunks + 1));

  torch::Tensor relabel = torch::full({n_all}, -1, i64);
  std::vector<Chunk> chunks(static_cast<size_t>(n_chunks));
  int64_t first_center = 0, first_edge = 0;
  for (int64_t c = 0; c < n_chunks; ++c) {
    Chunk& chunk = chunks[static_cast<size_t>(c)];
    const torch::Tensor centers = order.narrow(0, first_center, center_counts[c]);
    chunk.edges = edge_order.narrow(0, first_edge, edge_counts[c]);
    first_center += center_counts[c];
    first_edge += edge_counts[c];
    const torch::Tensor reached =
        std::get<0>(torch::_unique(neighbor.index_select(0, chunk.edges)));
    const torch::Tensor halo =
        reached.index_select(0, torch::nonzero(label.index_select(0, reached) != c).squeeze(1));
    chunk.nodes = torch::cat({centers, halo});
    chunk.n_centers = centers.size(0);
    relabel.index_copy_(0, chunk.nodes, torch::arange(chunk.nodes.size(0), i64));
    chunk.edge_index =
        relabel.index_select(0, g.edge_index.index_select(1, chunk.edges).flatten()).view({2, -1});
    chunk.positions = g.positions.index_select(0, chunk.nodes);
    chunk.types = g.types.index_select(0, chunk.nodes);
    chunk.shifts = g.shifts.index_select(0, chunk.edges);
  }
  return chunks;
}

}  // namespace

Outputs Model::run_chunked(const GraphTensors& g, const Inputs& in, GhostExchange* exchange,
                           const Request& request) const {
  const int64_t n = in.n_all;
  const int hops = impl_->metadata.num_message_hops;
  torch::jit::GraphOptimizerEnabledGuard optimize(impl_->device.is_cuda());
  torch::jit::Module& module = impl_->module;
  const auto call = [&](const char* method, std::vector<c10::IValue> args) {
    return module.get_method(method)(std::move(args));
  };
  // With an exchange, ghost rows come from their owners; without one, every atom is computed
  // here (explicit ghosts with their own edges included).
  const int64_t n_centers = exchange != nullptr ? g.n_local : n;
  const std::vector<Chunk> chunks =
      plan_chunks(g, n_centers, impl_->chunk_edges, impl_->metadata.cutoff);
  // Hop k of one chunk: (edge vectors, the chunk's new rows) from the rows of all atoms.
  const auto hop_on = [&](int k, const Chunk& c, const torch::Tensor& s, const torch::Tensor& v) {
    const auto prepared =
        call(keys::HOP_PREPARE, {c.positions, c.types, c.edge_index, c.shifts}).toTuple();
    const auto& parts = prepared->elements();
    const auto y =
        call(keys::HOP, {static_cast<int64_t>(k), s, v, parts[1], parts[2]}).toTuple()->elements();
    return std::array<torch::Tensor, 3>{parts[0].toTensor(),
                                        y[0].toTensor().narrow(0, 0, c.n_centers),
                                        y[1].toTensor().narrow(0, 0, c.n_centers)};
  };

  // Forward without a graph; xs[k] holds hop k's input rows.
  std::vector<std::array<torch::Tensor, 2>> xs;
  {
    torch::NoGradGuard no_grad;
    auto embedded = call(keys::HOP_EMBED, {g.types}).toTuple();
    xs.push_back({embedded->elements()[0].toTensor(), embedded->elements()[1].toTensor()});
  }
  Rows rows(impl_->exchange_rows, n, xs[0][0].size(1), xs[0][1].size(2),
            impl_->device.is_cuda());
  for (int k = 0; k < hops; ++k) {
    torch::NoGradGuard no_grad;
    const torch::Tensor s = xs.back()[0], v = xs.back()[1];
    // Rows outside every chunk (ghosts, with an exchange) keep their input until refreshed.
    const bool all_rows = n_centers == n;
    torch::Tensor y_s = all_rows ? torch::empty_like(s) : s.clone();
    torch::Tensor y_v = all_rows ? torch::empty_like(v) : v.clone();
    for (const Chunk& c : chunks) {
      const auto out = hop_on(k, c, s.index_select(0, c.nodes), v.index_select(0, c.nodes));
      y_s.index_copy_(0, c.nodes.narrow(0, 0, c.n_centers), out[1]);
      y_v.index_copy_(0, c.nodes.narrow(0, 0, c.n_centers), out[2]);
    }
    if (exchange != nullptr) {
      rows.store(y_s, y_v);
      exchange->forward(rows.data(), n, rows.width());
      const torch::Tensor x = rows.load(impl_->device, impl_->dtype);
      y_s = rows.scalars(x);
      y_v = rows.vectors(x);
    }
    xs.push_back({y_s, y_v});
  }

  Outputs out;
  torch::AutoGradMode grad_mode(true);
  const torch::Tensor last_s = xs.back()[0].detach().requires_grad_(true);
  const torch::Tensor atomic = call(keys::HOP_READOUT, {last_s, g.types, g.n_local}).toTensor();
  const torch::Tensor energy = atomic.sum();
  out.energy = energy.detach().item<double>();
  copy_out(atomic, out.atomic_energy);
  xs.pop_back();  // the last hop's output is only read by the readout

  // Backward, hop by hop and chunk by chunk: each chunk's graph lives for one grad call.
  const torch::Tensor edge_vec = g.positions.index_select(0, g.edge_index[1]) -
                                 g.positions.index_select(0, g.edge_index[0]) + g.shifts;
  torch::Tensor edge_grad = torch::zeros_like(edge_vec);
  torch::Tensor grad_s = torch::autograd::grad({energy}, {last_s})[0];
  torch::Tensor grad_v = torch::zeros_like(xs.back()[1]);
  for (int k = hops - 1; k >= 0; --k) {
    if (exchange != nullptr) {
      rows.store(grad_s, grad_v);
      exchange->reverse(rows.data(), n, rows.width());
      rows.zero_rows_from(g.n_local);
      const torch::Tensor grad_y = rows.load(impl_->device, impl_->dtype);
      grad_s = rows.scalars(grad_y);
      grad_v = rows.vectors(grad_y);
    }
    // Hop 0 reads the embedding, which does not depend on positions: no input gradient.
    const bool inputs_need_grad = k > 0;
    torch::Tensor next_s = inputs_need_grad ? torch::zeros_like(grad_s) : torch::Tensor();
    torch::Tensor next_v = inputs_need_grad ? torch::zeros_like(grad_v) : torch::Tensor();
    for (const Chunk& c : chunks) {
      const torch::Tensor s = xs[k][0].index_select(0, c.nodes).requires_grad_(inputs_need_grad);
      const torch::Tensor v = xs[k][1].index_select(0, c.nodes).requires_grad_(inputs_need_grad);
      const auto y = hop_on(k, c, s, v);
      const torch::Tensor centers = c.nodes.narrow(0, 0, c.n_centers);
      std::vector<torch::Tensor> outputs, grad_outputs;
      const torch::Tensor grads_y[2] = {grad_s, grad_v};
      for (int part = 0; part < 2; ++part) {
        if (!y[1 + part].requires_grad()) continue;
        outputs.push_back(y[1 + part]);
        grad_outputs.push_back(grads_y[part].index_select(0, centers));
      }
      if (outputs.empty()) continue;
      std::vector<torch::Tensor> wrt{y[0]};
      if (inputs_need_grad) wrt.insert(wrt.end(), {s, v});
      const auto grads = torch::autograd::grad(outputs, wrt, grad_outputs, false, false, true);
      if (grads[0].defined()) edge_grad.index_add_(0, c.edges, grads[0]);
      if (inputs_need_grad && grads[1].defined()) next_s.index_add_(0, c.nodes, grads[1]);
      if (inputs_need_grad && grads[2].defined()) next_v.index_add_(0, c.nodes, grads[2]);
    }
    grad_s = next_s;
    grad_v = next_v;
    xs.pop_back();  // hop k's inputs are no longer needed
  }

  return finish_hops(module, edge_vec, edge_grad, g.edge_index, n, request, std::move(out));
}

}  // namespace hermnet
