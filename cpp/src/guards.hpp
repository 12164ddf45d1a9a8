// Private to the core: checks that stop a run instead of letting it go on with wrong forces.
#pragma once

#include <cstdint>
#include <string>

#include "hermnet/metadata.hpp"
#include "hermnet/model.hpp"

namespace hermnet {

// Rough memory of one forward + backward pass over n_edges edges (bytes).
double estimate_bytes(const Metadata& m, const std::string& dtype, int64_t n_edges);
// Throws hermnet::Error naming the first atom with a NaN or infinite position.
void check_finite_inputs(const Inputs& in);
// Throws hermnet::Error when the energy or a force is NaN or infinite.
void check_finite_outputs(const Outputs& out, const Inputs& in);
// Inside a catch block: rethrow the current exception as hermnet::Error; out-of-memory
// errors name the atoms, edges and a memory estimate.
[[noreturn]] void rethrow_as_error(const Metadata& m, const std::string& device, const Inputs& in);

}  // namespace hermnet
