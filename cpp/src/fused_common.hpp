// What the fused CPU operators share (fused_ops.cpp: the l = 1 message hop; moment_ops.cpp:
// the rank-2 moments): the switch to the operator chains, index checks, the per-relation
// radial filter as a chain of torch operators, and the split of the edges over threads.
#pragma once

#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/script.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace hermnet::fused {

using torch::Tensor;
using torch::autograd::variable_list;

// The kernels run on CPU tensors unless HERMNET_FUSED_REFERENCE=1 asks for the operator
// chains (read per call: tests flip it).
inline bool use_kernels(const Tensor& t) {
  if (!t.is_cpu()) return false;
  const char* forced = std::getenv("HERMNET_FUSED_REFERENCE");
  return forced == nullptr || std::string(forced) != "1";
}

inline void check_edges(const Tensor& index, int64_t edges, int64_t rows, const char* what) {
  TORCH_CHECK(index.scalar_type() == torch::kLong && index.dim() == 1 && index.size(0) == edges,
              "hermnet fused op: ", what, " must be an int64 vector of ", edges, " edges");
  if (edges > 0) {
    const auto [lo, hi] = torch::aminmax(index);
    TORCH_CHECK(lo.item<int64_t>() >= 0 && hi.item<int64_t>() < rows, "hermnet fused op: ", what,
                " holds an index outside [0, ", rows, ")");
  }
}

inline void check_rows(const Tensor& rows, int64_t edges, int64_t width, const Tensor& like,
                       const char* what) {
  TORCH_CHECK(rows.dim() == 2 && rows.size(0) == edges && rows.size(1) == width &&
                  rows.stride(1) == 1 && rows.scalar_type() == like.scalar_type(),
              "hermnet fused op: ", what, " must be [", edges, ", ", width, "] rows of ",
              like.scalar_type(), " with unit stride along the row");
}

// An edge's radial filter is its basis row times its relation's weights: basis [E, K],
// rel [E], W [R, K, D]. In the operator chain it is one product per relation.
inline Tensor radial_filter_chain(const Tensor& basis, const Tensor& rel, const Tensor& W) {
  Tensor filt = basis.new_zeros({basis.size(0), W.size(2)});
  for (int64_t r = 0; r < W.size(0); ++r) {
    const Tensor sel = (rel == r).nonzero().squeeze(1);
    if (sel.numel() > 0) filt = filt.index_copy(0, sel, basis.index_select(0, sel).mm(W[r]));
  }
  return filt;
}

// {d/dbasis, d/dW} of radial_filter_chain for the filter gradient gfilt [E, D].
inline variable_list radial_filter_grad_chain(const Tensor& gfilt, const Tensor& basis,
                                              const Tensor& rel, const Tensor& W) {
  Tensor gbasis = torch::zeros_like(basis);
  std::vector<Tensor> gW;
  for (int64_t r = 0; r < W.size(0); ++r) {
    const Tensor sel = (rel == r).nonzero().squeeze(1);
    const Tensor g = gfilt.index_select(0, sel);
    gbasis = gbasis.index_copy(0, sel, g.mm(W[r].t()));
    gW.push_back(basis.index_select(0, sel).t().mm(g));
  }
  return {gbasis, torch::stack(gW)};
}

// W [R, K, D] transposed to [R, D, Kp] and zero-padded to Kp, whole 64-byte vectors (a
// multiple of every vector width): the layout the kernels' basis gradient reads.
inline Tensor transposed_padded_weights(const Tensor& W, int64_t* Kp) {
  const int64_t lanes = 64 / W.element_size(), K = W.size(1);
  *Kp = (K + lanes - 1) / lanes * lanes;
  return torch::constant_pad_nd(W.transpose(1, 2), {0, *Kp - K}).contiguous();
}

// Threads of the filter kernels split the edges, each taking every feature: one pass per
// edge over its whole rows, the index arrays read once (splitting F = 64 into two halves ran
// slower on two threads than one thread on all of it). Boundaries fall where the center
// changes, so with edges sorted by center (as every graph builder here makes them) no two
// threads write one output row of the forward: its sums run in the single-thread order, and
// the results are bit-identical for any thread count. The backward's sums over the
// neighbor side (gphi, gv_in, gW) go to one buffer per part, added in part order
// (sum_in_order): fixed for a given thread count, and within rounding of one thread across
// counts.
struct EdgeParts {
  std::vector<int64_t> begin;  // parts + 1 offsets into [0, edges]
  int64_t count() const { return static_cast<int64_t>(begin.size()) - 1; }
};

inline EdgeParts edge_parts(const Tensor& center, int64_t edges) {
  constexpr int64_t kMinEdgesPerPart = 4096;  // below it a thread costs more than it saves
  const int64_t want = at::in_parallel_region()
                           ? 1
                           : std::min<int64_t>(at::get_num_threads(), edges / kMinEdgesPerPart);
  EdgeParts parts{{0}};
  const int64_t* c = center.data_ptr<int64_t>();
  if (want > 1 && !std::is_sorted(c, c + edges)) {
    parts.begin.push_back(edges);  // unsorted centers: threads would share output rows
    return parts;
  }
  for (int64_t k = 1; k < want; ++k) {
    int64_t e = std::max(parts.begin.back(), edges * k / want);
    while (e > 0 && e < edges && c[e] == c[e - 1]) ++e;  // a center's edges stay together
    if (e > parts.begin.back() && e < edges) parts.begin.push_back(e);
  }
  parts.begin.push_back(edges);
  return parts;
}

// slices[0] + slices[1] + ... in that order, into slices[0].
inline Tensor sum_in_order(const Tensor& slices) {
  Tensor total = slices[0];
  for (int64_t k = 1; k < slices.size(0); ++k) total.add_(slices[k]);
  return total;
}

}  // namespace hermnet::fused
