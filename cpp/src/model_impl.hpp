// Private to the core: the state behind hermnet::Model and the torch helpers its two
// evaluation paths (model.cpp: whole graph; hops.cpp: hop by hop with ghost exchange) share.
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

#include "hermnet/model.hpp"

namespace hermnet {

// One graph on the model's device and dtype.
struct GraphTensors {
  torch::Tensor positions, types, edge_index, shifts;
  int64_t n_local = 0;
};

struct Model::Impl {
  std::string path;
  Metadata metadata;
  torch::Device device{torch::kCPU};
  torch::Dtype dtype = torch::kFloat64;
  mutable torch::jit::Module module;
  // Host staging rows for ghost exchange, reused between calls (pinned for CUDA).
  mutable torch::Tensor exchange_rows;
  // Host staging of a graph's inputs for GPU models, reused between calls (pinned):
  // [positions | shifts] in the model dtype and [types | centers | neighbors] as int64.
  mutable torch::Tensor staged_float, staged_int;
  int64_t exchange_width = 0;
  int64_t chunk_edges = 0;  // Model::set_chunk_edges; 0: whole graph

  // Validate `in` (types, edge indices) and move it to the device in the model dtype.
  GraphTensors tensors(const Inputs& in) const;
};

std::string first_line(const std::string& text);
// Defined in fused_ops.cpp, next to the registration of the hermnet:: operators; calling it
// keeps that file in every binary that links the static core.
void link_fused_ops();
void link_moment_ops();  // moment_ops.cpp: hermnet::moment_message
void copy_out(const torch::Tensor& t, std::vector<double>& out);
// The last step of both hop drivers: forces, virial and per-atom virial from dE/d(edge
// vectors) by the module's hop_derivatives, joined to the energies already in `energies`.
Outputs finish_hops(torch::jit::Module& module, const torch::Tensor& edge_vec,
                    const torch::Tensor& edge_grad, const torch::Tensor& edge_index, int64_t n_all,
                    const Request& request, Outputs energies);
// The hop methods' edge geometry (hop_prepare's EdgeGeometry tuple) with every tensor that
// depends on the edge vectors replaced by a detached leaf: hops are differentiated up to the
// leaves, and the geometry once, by the caller, for all hops together.
struct GeometryLeaves {
  explicit GeometryLeaves(const c10::IValue& geometry);
  c10::IValue leaves;                       // the tuple to pass to the hops
  std::vector<torch::Tensor> leaf_tensors;  // its leaves, in tuple order
  std::vector<torch::Tensor> from_edges;    // the tensors they replace (with their graph)
};
// Forces, virial and per-atom virial (as requested) from a model's output dictionary.
Outputs read_outputs(const c10::Dict<c10::IValue, c10::IValue>& dict, const Request& request);

}  // namespace hermnet
