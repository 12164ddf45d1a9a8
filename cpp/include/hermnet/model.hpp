// An exported HermNet model (TorchScript + metadata) behind a torch-free interface.
// The pybind11 module and the LAMMPS pair style both call the model through this class.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hermnet/error.hpp"
#include "hermnet/exchange.hpp"
#include "hermnet/metadata.hpp"

namespace hermnet {

// One graph in the contract of hermnet/export/keys.py. Pointers are borrowed for the
// duration of compute(); the core converts to the model dtype on the model device.
struct Inputs {
  const double* positions = nullptr;  // n_all * 3, Å
  const int64_t* types = nullptr;     // n_all
  int64_t n_all = 0;
  const int64_t* centers = nullptr;    // E
  const int64_t* neighbors = nullptr;  // E
  const double* shifts = nullptr;      // E * 3, Å (zero for explicit ghosts)
  int64_t n_edges = 0;
  int64_t n_local = -1;  // atoms with index < n_local contribute energy; -1: all
};

struct Request {
  bool forces = true;
  bool virial = false;
  bool atomic_virial = false;
};

// float64 results; vectors are empty when not requested.
struct Outputs {
  double energy = 0.0;                // eV, local atoms only
  std::vector<double> atomic_energy;  // n_local, eV
  std::vector<double> forces;         // n_all * 3, eV/Å
  std::array<double, 9> virial{};     // eV (valid when requested)
  std::vector<double> atomic_virial;  // n_all * 9, eV
};

struct SelfCheckResult {
  bool passed = false;
  std::string report;  // one line per problem, or the max deviations when passed
};

// CUDA devices this libtorch sees (0 for a CPU-only build): lets callers that cannot include
// torch, such as the LAMMPS plugin, choose a device per MPI rank.
int cuda_device_count();

struct GraphTensors;  // private to the core (torch tensors of one graph)

// Keep freed host memory in the C library's heap between steps (glibc: mmap and trim
// thresholds raised), once per process; returns what was done, for logs. Loading a CPU model
// calls it; HERMNET_KEEP_HEAP=0 opts out (host_heap.cpp says why it pays).
const std::string& keep_host_heap();

// Vector bytes of the fused radial-filter kernels on this CPU: 64 (AVX-512), 32 (AVX2 + FMA)
// or 16 (x86-64 baseline); HERMNET_VECTOR_BYTES=16|32 asks for a narrower path.
int fused_vector_bytes();

// Threads of torch's intra-op pool in this process (OMP_NUM_THREADS, else one per core): the
// fused operators and the dense layers of a CPU model run on them.
int cpu_threads();
// Distinct threads that run the fused operators' parallel loops now (tests: a build that
// cannot reach torch's thread pool runs them on one thread whatever cpu_threads() says).
int fused_threads_reached();

class Model {
 public:
  // device: "cpu", "cuda" or "cuda:N". Throws hermnet::Error for a file that is not an
  // exported HermNet model, a newer format version, missing metadata, or a bad device.
  explicit Model(const std::string& path, const std::string& device = "cpu");
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const Metadata& metadata() const;
  std::string device() const;
  const std::string& path() const;

  Outputs compute(const Inputs& inputs, const Request& request = {}) const;

  // The same results for one domain of a decomposed system, hop by hop: after every hop
  // `exchange` refreshes ghost rows from their owners, and backward it sends ghost gradients
  // home before the previous hop is differentiated. `inputs` hold the local atoms, then the
  // ghosts their edges reach (one cutoff deep is enough), and edges of local centers (edges
  // of ghost centers are allowed and ignored). Every domain must call this together, also
  // one without atoms: each exchange is collective. Forces and per-atom virials come on all
  // n_all rows; the engine adds ghost rows to their owners, as after compute().
  Outputs compute_exchanged(const Inputs& inputs, GhostExchange& exchange,
                            const Request& request = {}) const;
  // Whether the file has the hop-by-hop methods compute_exchanged needs.
  bool has_hop_interface() const;
  // Doubles per atom that each ghost exchange moves: the widths of hop_embed's s and v rows
  // (4 x features for hermconv and painn, 10 x features for tensor); 0 without hop methods.
  int64_t exchange_width() const;

  // Bound the memory of a pass: graphs with more than max_edges edges are evaluated hop by
  // hop in spatially compact chunks of at most max_edges edges, recomputing each chunk's hop
  // in the backward pass (about one more forward pass; same results to rounding). 0, the
  // default, evaluates the whole graph at once. Needs the hop methods (has_hop_interface).
  void set_chunk_edges(int64_t max_edges);
  int64_t chunk_edges() const;

  // Rebuild the stored frame's graph with build_neighbor_list, evaluate, compare.
  SelfCheckResult self_check() const;

  // Type index of each atomic number; throws for elements the model does not know.
  std::vector<int64_t> types_of(const std::vector<int>& atomic_numbers) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Outputs run_hops(const GraphTensors& g, const Inputs& in, GhostExchange& exchange,
                   const Request& request) const;
  Outputs run_chunked(const GraphTensors& g, const Inputs& in, GhostExchange* exchange,
                      const Request& request) const;
  bool chunked(const Inputs& in) const;
};

}  // namespace hermnet
