// Private to the core: host staging rows of the ghost exchange, shared by the hop drivers
// (hops.cpp: whole graph per hop; chunked.cpp: edge chunks with recomputation).
#pragma once

#include <torch/script.h>

namespace hermnet {

// Features are exchanged as one row per atom: [s (F) | v (3 x W)], float64 on the host.
// W is F for vector features and 3F for the tensor block's [3, 3F] rows (hop_embed's shapes).
class Rows {
 public:
  Rows(torch::Tensor& buffer, int64_t n, int64_t features, int64_t vector_width, bool pinned)
      : n_(n), f_(features), w_(vector_width) {
    const int64_t width = f_ + 3 * w_;
    if (!buffer.defined() || buffer.size(0) < n || buffer.size(1) != width) {
      // Grown with slack: atom counts of a domain drift by a few percent between steps.
      const int64_t capacity = n + n / 8 + 16;
      buffer = torch::empty({capacity, width},
                            torch::TensorOptions().dtype(torch::kFloat64).pinned_memory(pinned));
    }
    rows_ = buffer.narrow(0, 0, n);
  }
  double* data() { return rows_.data_ptr<double>(); }
  int64_t width() const { return f_ + 3 * w_; }

  void store(const torch::Tensor& s, const torch::Tensor& v) {
    rows_.narrow(1, 0, f_).copy_(s.detach());
    rows_.narrow(1, f_, 3 * w_).copy_(v.detach().reshape({n_, 3 * w_}));
  }
  void store(const torch::Tensor& both) { rows_.copy_(both.detach()); }
  // A copy on `device` in `dtype`, as one [n, F + 3W] tensor.
  torch::Tensor load(torch::Device device, torch::Dtype dtype) const {
    return rows_.to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
  }
  void zero_rows_from(int64_t first) { rows_.narrow(0, first, n_ - first).zero_(); }

  torch::Tensor scalars(const torch::Tensor& both) const { return both.narrow(1, 0, f_); }
  torch::Tensor vectors(const torch::Tensor& both) const {
    return both.narrow(1, f_, 3 * w_).view({n_, 3, w_});
  }

 private:
  torch::Tensor rows_;
  int64_t n_, f_, w_;
};

}  // namespace hermnet
