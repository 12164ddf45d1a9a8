// Loading, device placement and the whole-graph compute. Torch stays inside the core's
// source files (this one, hops.cpp, chunked.cpp, fused_ops.cpp, model_impl.hpp): the public
// headers under include/hermnet are torch-free.
#include "hermnet/model.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

#include "guards.hpp"
#include "hermnet/keys.hpp"
#include "model_impl.hpp"

namespace hermnet {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

void copy_out(const torch::Tensor& t, std::vector<double>& out) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  out.resize(static_cast<size_t>(c.numel()));
  if (!out.empty()) std::memcpy(out.data(), c.data_ptr<double>(), out.size() * sizeof(double));
}

namespace {

std::string read_metadata_record(const std::string& path) {
  if (!std::ifstream(path).good()) throw Error(path + " does not exist or is not readable");
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    const std::string record = std::string("extra/") + keys::METADATA_FILE;
    if (!reader.hasRecord(record)) {
      throw Error(path + " is not an exported HermNet model: it has no " + keys::METADATA_FILE +
                  "; create one from a training checkpoint with `hermnet export CHECKPOINT -o "
                  "model.pt`");
    }
    auto [data, size] = reader.getRecord(record);
    return std::string(static_cast<const char*>(data.get()), size);
  } catch (const c10::Error& err) {
    throw Error(path +
                " is not a TorchScript archive (it may be truncated, or not a model file): " +
                first_line(err.what_without_backtrace()));
  }
}

torch::Device parse_device(const std::string& name) {
  std::optional<torch::Device> device;
  try {
    device = torch::Device(name);
  } catch (const c10::Error&) {
    throw Error("unknown device '" + name + "'; use cpu, cuda or cuda:N");
  }
  if (device->is_cuda()) {
    const auto count = torch::cuda::device_count();
    if (!torch::cuda::is_available() || count == 0) {
      throw Error("device '" + name +
                  "' requested, but this libtorch sees no CUDA GPU (CPU-only "
                  "build, or no GPU visible); use cpu");
    }
    if (device->has_index() && device->index() >= static_cast<int>(count)) {
      throw Error("device '" + name + "' requested, but only " + std::to_string(count) +
                  " CUDA device(s) are visible");
    }
    if (!device->has_index()) device = torch::Device(torch::kCUDA, 0);
  } else if (!device->is_cpu()) {
    throw Error("device '" + name + "' is not supported; use cpu, cuda or cuda:N");
  }
  return *device;
}

}  // namespace

int cuda_device_count() {
  return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

int cpu_threads() { return at::get_num_threads(); }

Model::Model(const std::string& path, const std::string& device) : impl_(new Impl) {
  link_fused_ops();  // the exported model may call hermnet::vector_message and friends
  link_moment_ops();
  impl_->path = path;
  impl_->metadata = Metadata::parse(read_metadata_record(path), path);
  impl_->device = parse_device(device);
  if (impl_->device.is_cpu()) keep_host_heap();
  if (impl_->device.is_cuda()) {
    // The GPU becomes this thread's current device before anything touches CUDA, so the
    // context, pinned buffers and kernels of this process live on it (one GPU per MPI rank)
    // and not on GPU 0. c10's guard interface needs no CUDA headers in this CPU-buildable core.
    c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->setDevice(impl_->device);
    // TF32 is the export's choice (metadata "tf32"), never a silent default: it changes
    // float32 products by ~1e-3 relative. The setting is process-wide, like the model.
    at::globalContext().setAllowTF32CuBLAS(impl_->metadata.tf32);
    at::globalContext().setAllowTF32CuDNN(impl_->metadata.tf32);
  }
  impl_->dtype = impl_->metadata.dtype == "float32" ? torch::kFloat32 : torch::kFloat64;
  try {
    impl_->module = torch::jit::load(path, impl_->device);
  } catch (const c10::Error& err) {
    throw Error(path + ": TorchScript could not load the model: " +
                first_line(err.what_without_backtrace()));
  }
  impl_->module.eval();
  if (impl_->metadata.hop_interface >= 1) {
    // Row width of the ghost exchange: [s | v] of one atom, as hop_embed lays them out.
    torch::NoGradGuard no_grad;
    const auto one_atom = torch::zeros({1}, torch::TensorOptions().dtype(torch::kInt64));
    const auto embedded =
        impl_->module.get_method(keys::HOP_EMBED)({one_atom.to(impl_->device)}).toTuple();
    impl_->exchange_width =
        embedded->elements()[0].toTensor().size(1) + embedded->elements()[1].toTensor()[0].numel();
  }
}

Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

const Metadata& Model::metadata() const { return impl_->metadata; }
std::string Model::device() const { return impl_->device.str(); }
const std::string& Model::path() const { return impl_->path; }

std::vector<int64_t> Model::types_of(const std::vector<int>& atomic_numbers) const {
  std::map<int, int64_t> index;
  const auto& known = impl_->metadata.atomic_numbers;
  for (size_t t = 0; t < known.size(); ++t) index[known[t]] = static_cast<int64_t>(t);
  std::vector<int64_t> types;
  types.reserve(atomic_numbers.size());
  for (int z : atomic_numbers) {
    auto it = index.find(z);
    if (it == index.end()) {
      std::string names;
      for (const auto& e : impl_->metadata.elements) names += (names.empty() ? "" : ", ") + e;
      throw Error("atomic number " + std::to_string(z) + " is not among the model's elements [" +
                  names + "]");
    }
    types.push_back(it->second);
  }
  return types;
}

GraphTensors Model::Impl::tensors(const Inputs& in) const {
  if (in.n_all < 0 || in.n_edges < 0 || in.n_local > in.n_all) {
    throw Error("compute: need 0 <= n_local <= n_all and n_edges >= 0");
  }
  const int64_t n_types = static_cast<int64_t>(metadata.elements.size());
  for (int64_t i = 0; i < in.n_all; ++i) {
    if (in.types[i] < 0 || in.types[i] >= n_types) {
      throw Error("compute: atom " + std::to_string(i) + " has type " +
                  std::to_string(in.types[i]) + ", outside 0.." + std::to_string(n_types - 1));
    }
  }
  for (int64_t e = 0; e < in.n_edges; ++e) {
    if (in.centers[e] < 0 || in.centers[e] >= in.n_all || in.neighbors[e] < 0 ||
        in.neighbors[e] >= in.n_all) {
      throw Error("compute: edge " + std::to_string(e) + " refers to an atom outside 0..n_all-1");
    }
  }
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  auto borrow = [](const void* p, at::IntArrayRef shape, const torch::TensorOptions& o) {
    // from_blob needs a valid pointer; an empty graph (no edges) may pass none.
    if (p == nullptr || c10::multiply_integers(shape) == 0) return torch::empty(shape, o);
    return torch::from_blob(const_cast<void*>(p), shape, o);
  };
  GraphTensors g;
  g.n_local = in.n_local < 0 ? in.n_all : in.n_local;
  // GPU: pack everything into two pinned host blocks (converting to the model dtype on the
  // host, which halves a float32 model's transfer) and copy each once. HERMNET_STAGE_INPUTS
  // runs the same packing on the CPU, so tests without a GPU cover it.
  if (device.is_cuda() || std::getenv("HERMNET_STAGE_INPUTS") != nullptr) {
    const int64_t n = in.n_all, e = in.n_edges;
    const auto staged = [&](torch::Tensor& buffer, int64_t size, torch::Dtype type) {
      if (!buffer.defined() || buffer.numel() < size) {
        const auto options = torch::TensorOptions().dtype(type).pinned_memory(device.is_cuda());
        buffer = torch::empty({size + size / 8 + 64}, options);  // slack: sizes drift
      }
      return buffer.narrow(0, 0, size);
    };
    torch::Tensor floats = staged(staged_float, 3 * (n + e), dtype);
    torch::Tensor ints = staged(staged_int, n + 2 * e, torch::kInt64);
    floats.narrow(0, 0, 3 * n).view({n, 3}).copy_(borrow(in.positions, {n, 3}, f64));
    floats.narrow(0, 3 * n, 3 * e).view({e, 3}).copy_(borrow(in.shifts, {e, 3}, f64));
    ints.narrow(0, 0, n).copy_(borrow(in.types, {n}, i64));
    ints.narrow(0, n, e).copy_(borrow(in.centers, {e}, i64));
    ints.narrow(0, n + e, e).copy_(borrow(in.neighbors, {e}, i64));
    // non_blocking is safe: the buffers are rewritten only by the next call, after this
    // call's results came back to the host (a synchronising copy).
    const torch::Tensor floats_on = floats.to(device, /*non_blocking=*/true, /*copy=*/true);
    const torch::Tensor ints_on = ints.to(device, /*non_blocking=*/true, /*copy=*/true);
    g.positions = floats_on.narrow(0, 0, 3 * n).view({n, 3});
    g.shifts = floats_on.narrow(0, 3 * n, 3 * e).view({e, 3});
    g.types = ints_on.narrow(0, 0, n);
    g.edge_index = ints_on.narrow(0, n, 2 * e).view({2, e});
    return g;
  }
  g.positions = borrow(in.positions, {in.n_all, 3}, f64).to(device, dtype);
  g.types = borrow(in.types, {in.n_all}, i64).to(device);
  g.edge_index =
      torch::stack({borrow(in.centers, {in.n_edges}, i64), borrow(in.neighbors, {in.n_edges}, i64)})
          .to(device);
  g.shifts = borrow(in.shifts, {in.n_edges, 3}, f64).to(device, dtype);
  return g;
}

Outputs read_outputs(const c10::Dict<c10::IValue, c10::IValue>& dict, const Request& request) {
  auto get = [&](const char* key) { return dict.at(c10::IValue(key)).toTensor(); };
  Outputs out;
  if (request.forces) copy_out(get(keys::FORCES), out.forces);
  if (request.virial) {
    std::vector<double> v;
    copy_out(get(keys::VIRIAL), v);
    std::copy(v.begin(), v.end(), out.virial.begin());
  }
  if (request.atomic_virial) copy_out(get(keys::ATOMIC_VIRIAL), out.atomic_virial);
  return out;
}

Outputs Model::compute(const Inputs& in, const Request& request) const {
  const c10::DeviceGuard on_device(impl_->device);  // a caller's thread may have another
  const GraphTensors g = impl_->tensors(in);
  check_finite_inputs(in);
  Outputs out;
  try {
    // The model differentiates w.r.t. edge vectors: grad mode must be on whatever the
    // caller's thread-local state (a Python caller inside torch.no_grad() shares it with us).
    torch::AutoGradMode grad_mode(true);
    // On CPU the profiling executor's specialisations gain nothing measurable (no CPU fuser)
    // but cost ~30% per call on small graphs (bench/cpp_vs_python.py); on CUDA its fusions
    // pay. The flag is thread-local, so other TorchScript users in the process are untouched.
    torch::jit::GraphOptimizerEnabledGuard optimize(impl_->device.is_cuda());
    if (chunked(in)) {
      out = run_chunked(g, in, nullptr, request);
      check_finite_outputs(out, in);
      return out;
    }
    const c10::IValue result =
        impl_->module.forward({g.positions, g.types, g.edge_index, g.shifts, g.n_local,
                               request.forces, request.virial, request.atomic_virial});
    const auto dict = result.toGenericDict();
    out = read_outputs(dict, request);
    const auto get = [&](const char* key) { return dict.at(c10::IValue(key)).toTensor(); };
    out.energy = get(keys::ENERGY).detach().to(torch::kCPU, torch::kFloat64).item<double>();
    copy_out(get(keys::ATOMIC_ENERGY), out.atomic_energy);
  } catch (...) {
    rethrow_as_error(impl_->metadata, device(), in);
  }
  check_finite_outputs(out, in);
  return out;
}

}  // namespace hermnet
