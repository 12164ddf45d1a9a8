#include "lammps_exchange.h"

#include <algorithm>
#include <cstring>

#include "comm.h"
#include "hermnet/error.hpp"
#include "pair.h"

namespace hermnet_lammps {

void LammpsExchange::bind(const std::vector<int>* lammps_index, int64_t n_local, int n_atoms) {
  lammps_index_ = lammps_index;
  n_local_ = n_local;
  n_atoms_ = n_atoms;
}

void LammpsExchange::size_for(int64_t width, int registered) {
  // LAMMPS sizes its buffers for `registered` values per atom; fewer may be sent.
  if (width > registered) {
    throw hermnet::Error("ghost exchange of " + std::to_string(width) +
                         " values per atom, but the pair style registered " +
                         std::to_string(registered) + "; repeat pair_style");
  }
  width_ = static_cast<int>(width);
  per_atom_.resize(static_cast<size_t>(n_atoms_) * width_);
}

bool LammpsExchange::nothing_to_move(int64_t n_rows) const {
  // One rank whose ghosts are all images of its own atoms (mapped to them by LammpsGraph):
  // no row to refresh. With several ranks every rank joins each communication.
  return comm_->nprocs == 1 && n_rows == n_local_;
}

void LammpsExchange::forward(double* rows, int64_t n_rows, int64_t width) {
  ++exchanges_;
  if (nothing_to_move(n_rows)) return;
  size_for(width, pair_->comm_forward);
  const std::vector<int>& index = *lammps_index_;
  // Only local rows are exact; LAMMPS sends them (and relays received ghosts) to the ghosts.
  for (int64_t m = 0; m < n_local_; ++m) {
    std::memcpy(&per_atom_[static_cast<size_t>(index[m]) * width_], rows + m * width,
                width_ * sizeof(double));
  }
  comm_->forward_comm(pair_);
  for (int64_t m = n_local_; m < n_rows; ++m) {
    std::memcpy(rows + m * width, &per_atom_[static_cast<size_t>(index[m]) * width_],
                width_ * sizeof(double));
  }
}

void LammpsExchange::reverse(double* rows, int64_t n_rows, int64_t width) {
  ++exchanges_;
  if (nothing_to_move(n_rows)) return;
  size_for(width, pair_->comm_reverse);
  const std::vector<int>& index = *lammps_index_;
  // Atoms that are not model rows (NULL types, unreferenced ghosts) must send nothing home.
  std::fill(per_atom_.begin(), per_atom_.end(), 0.0);
  for (int64_t m = 0; m < n_rows; ++m) {
    std::memcpy(&per_atom_[static_cast<size_t>(index[m]) * width_], rows + m * width,
                width_ * sizeof(double));
  }
  comm_->reverse_comm(pair_);
  for (int64_t m = 0; m < n_local_; ++m) {
    std::memcpy(rows + m * width, &per_atom_[static_cast<size_t>(index[m]) * width_],
                width_ * sizeof(double));
  }
}

int LammpsExchange::pack_forward(int n, const int* list, double* buf) const {
  for (int i = 0; i < n; ++i) {
    std::memcpy(buf + static_cast<size_t>(i) * width_,
                &per_atom_[static_cast<size_t>(list[i]) * width_], width_ * sizeof(double));
  }
  return n * width_;
}

void LammpsExchange::unpack_forward(int n, int first, const double* buf) {
  std::memcpy(&per_atom_[static_cast<size_t>(first) * width_], buf,
              static_cast<size_t>(n) * width_ * sizeof(double));
}

int LammpsExchange::pack_reverse(int n, int first, double* buf) const {
  std::memcpy(buf, &per_atom_[static_cast<size_t>(first) * width_],
              static_cast<size_t>(n) * width_ * sizeof(double));
  return n * width_;
}

void LammpsExchange::unpack_reverse(int n, const int* list, const double* buf) {
  for (int i = 0; i < n; ++i) {
    double* to = &per_atom_[static_cast<size_t>(list[i]) * width_];
    const double* from = buf + static_cast<size_t>(i) * width_;
    for (int c = 0; c < width_; ++c) to[c] += from[c];
  }
}

}  // namespace hermnet_lammps
