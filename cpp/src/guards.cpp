// Stop rather than continue with wrong forces: non-finite inputs or outputs, and running out
// of memory, become hermnet::Error with the atoms, edges and what to do.
#include "guards.hpp"

#include <c10/util/Exception.h>

#include <cmath>
#include <cstdio>
#include <new>
#include <string>
#include <typeinfo>

namespace hermnet {
namespace {

std::string gib(double bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buffer;
}

// TorchScript's interpreter rethrows allocation failures as plain runtime errors carrying
// the allocator's message, so the message decides.
bool is_out_of_memory(const std::exception& err) {
  if (dynamic_cast<const c10::OutOfMemoryError*>(&err) != nullptr) return true;
  const std::string what = err.what();
  return what.find("out of memory") != std::string::npos ||
         what.find("can't allocate memory") != std::string::npos;
}

std::string first_problem_line(const std::exception& err) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&err);
  const std::string what = c10_error ? c10_error->what_without_backtrace() : err.what();
  // The interpreter's messages start with a TorchScript traceback; the cause comes last.
  const size_t end = what.find_last_not_of('\n');
  const std::string trimmed = what.substr(0, end == std::string::npos ? 0 : end + 1);
  const size_t start = trimmed.rfind('\n');
  return start == std::string::npos ? trimmed : trimmed.substr(start + 1);
}

}  // namespace

double estimate_bytes(const Metadata& m, const std::string& dtype, int64_t n_edges) {
  // Measured on CPU (bench/lammps_ghost_modes.py): the saved activations of forward and
  // backward take about 45 x features values per edge and HermConv layer (two hops).
  const double layers = m.num_message_hops / 2.0;
  const double features = m.features > 0 ? m.features : 128.0;
  const double value = dtype == "float64" ? 8.0 : 4.0;
  return 45.0 * layers * features * value * static_cast<double>(n_edges);
}

void check_finite_inputs(const Inputs& in) {
  for (int64_t i = 0; i < 3 * in.n_all; ++i) {
    if (!std::isfinite(in.positions[i])) {
      throw Error("atom " + std::to_string(i / 3) +
                  " has a non-finite position (NaN or inf): the simulation has already "
                  "diverged; check the time step and the previous steps' forces");
    }
  }
}

void check_finite_outputs(const Outputs& out, const Inputs& in) {
  std::string what;
  int64_t where = -1;
  if (!std::isfinite(out.energy)) what = "energy";
  for (size_t k = 0; what.empty() && k < out.forces.size(); ++k) {
    if (!std::isfinite(out.forces[k])) {
      what = "force";
      where = static_cast<int64_t>(k / 3);
    }
  }
  if (what.empty()) return;
  throw Error("the model produced a non-finite " + what +
              (where >= 0 ? " (first on atom " + std::to_string(where) + ")" : std::string()) +
              " for " + std::to_string(in.n_all) + " atoms and " + std::to_string(in.n_edges) +
              " edges; stopped rather than continue with wrong forces. Atoms may overlap or "
              "sit far outside the training data; check the structure and the time step");
}

void rethrow_as_error(const Metadata& m, const std::string& device, const Inputs& in) {
  const std::string sizes = std::to_string(in.n_all) + " atoms (" +
                            std::to_string(in.n_local < 0 ? in.n_all : in.n_local) +
                            " local) and " + std::to_string(in.n_edges) + " edges";
  const std::string advice =
      "; this needs roughly " + gib(estimate_bytes(m, m.dtype, in.n_edges)) +
      ". Use chunked evaluation (`pair_style hermnet ... chunk 1000000` on a GPU, 200000 on a CPU; "
      "Model::set_chunk_edges), "
      "more ranks or GPUs (fewer atoms each), a float32 model, or a smaller system";
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error("out of memory on " + device + " evaluating " + sizes + advice);
  } catch (const std::exception& err) {
    if (is_out_of_memory(err)) {
      throw Error("out of memory on " + device + " evaluating " + sizes + advice);
    }
    // HERMNET_DEBUG_TRACE=1: the whole libtorch message (with TORCH_SHOW_CPP_STACKTRACES=1,
    // its C++ stack), for reports of model failures.
    if (std::getenv("HERMNET_DEBUG_TRACE")) std::fprintf(stderr, "%s\n", err.what());
    throw Error("the model failed on this input (" + sizes + "): " + first_problem_line(err));
  }
}

}  // namespace hermnet
