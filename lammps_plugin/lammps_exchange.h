// Ghost-feature exchange through LAMMPS' own communication (forward_comm / reverse_comm of
// the pair style): the hermnet::GhostExchange that Model::compute_exchanged calls after
// every message-passing hop. LAMMPS moves per-atom data indexed by LAMMPS atom index, swap
// by swap, including ghosts that relay other ghosts and periodic images of a rank's own
// atoms; so the model's rows are staged in a per-atom array of all local and ghost atoms.
#pragma once

#include <cstdint>
#include <vector>

#include "hermnet/exchange.hpp"

namespace LAMMPS_NS {
class Comm;
class Pair;
}  // namespace LAMMPS_NS

namespace hermnet_lammps {

class LammpsExchange : public hermnet::GhostExchange {
 public:
  LammpsExchange(LAMMPS_NS::Pair* pair, LAMMPS_NS::Comm* comm) : pair_(pair), comm_(comm) {}

  // Before each compute: model row m is LAMMPS atom lammps_index[m]; rows < n_local are
  // local atoms; n_atoms = nlocal + nghost.
  void bind(const std::vector<int>* lammps_index, int64_t n_local, int n_atoms);

  void forward(double* rows, int64_t n_rows, int64_t width) override;
  // Also folds any per-atom rows onto their owners (the committee's forces): width may be
  // less than the pair style's comm_reverse.
  void reverse(double* rows, int64_t n_rows, int64_t width) override;

  // The pair style's pack/unpack callbacks delegate here; they return doubles written.
  int pack_forward(int n, const int* list, double* buf) const;
  void unpack_forward(int n, int first, const double* buf);
  int pack_reverse(int n, int first, double* buf) const;
  void unpack_reverse(int n, const int* list, const double* buf);

  int64_t exchanges() const { return exchanges_; }  // forward + reverse calls so far

 private:
  LAMMPS_NS::Pair* pair_;
  LAMMPS_NS::Comm* comm_;
  const std::vector<int>* lammps_index_ = nullptr;
  int64_t n_local_ = 0;
  int n_atoms_ = 0;
  int width_ = 0;
  std::vector<double> per_atom_;  // n_atoms x width
  int64_t exchanges_ = 0;

  void size_for(int64_t width, int registered);
  bool nothing_to_move(int64_t n_rows) const;
};

}  // namespace hermnet_lammps
