#include "hermnet/exchange.hpp"

#include <string>

#include "hermnet/error.hpp"

namespace hermnet {

OwnerExchange::OwnerExchange(std::vector<int64_t> owner, int64_t n_local)
    : owner_(std::move(owner)), n_local_(n_local) {
  const auto n = static_cast<int64_t>(owner_.size());
  if (n_local < 0 || n_local > n) throw Error("owner table: need 0 <= n_local <= n_all");
  for (int64_t g = 0; g < n; ++g) {
    const bool ok = g < n_local ? owner_[g] == g : owner_[g] >= 0 && owner_[g] < n_local;
    if (!ok) {
      throw Error("owner table: row " + std::to_string(g) + " has owner " +
                  std::to_string(owner_[g]) +
                  "; local rows must own themselves and ghosts must name a local row");
    }
  }
}

void OwnerExchange::forward(double* rows, int64_t n_rows, int64_t width) {
  for (int64_t g = n_local_; g < n_rows; ++g) {
    const double* from = rows + owner_[g] * width;
    double* to = rows + g * width;
    for (int64_t c = 0; c < width; ++c) to[c] = from[c];
  }
}

void OwnerExchange::reverse(double* rows, int64_t n_rows, int64_t width) {
  for (int64_t g = n_local_; g < n_rows; ++g) {
    const double* from = rows + g * width;
    double* to = rows + owner_[g] * width;
    for (int64_t c = 0; c < width; ++c) to[c] += from[c];
  }
}

}  // namespace hermnet
