// pair_style hermnet: an exported HermNet model (eV, Å) inside LAMMPS.
//
//   pair_style hermnet model.pt [device cpu|cuda|auto] [ghosts auto|remap|exchange|deep]
//                     [check yes|no] [dump_graph FILE]
//   pair_coeff * * El1 El2 ...        (one element name or NULL per LAMMPS atom type)
//
// The model is called only through hermnet::Model (cpp/); the state lives behind a pointer
// (PIMPL) so that this header includes neither torch nor the core.
#pragma once

#include <memory>

#include "pair.h"

namespace hermnet {
struct Outputs;
}

namespace LAMMPS_NS {

class PairHermNet : public Pair {
 public:
  explicit PairHermNet(class LAMMPS* lmp);
  ~PairHermNet() override;

  void compute(int eflag, int vflag) override;
  void settings(int narg, char** arg) override;
  void coeff(int narg, char** arg) override;
  void init_style() override;
  double init_one(int i, int j) override;
  // Ghost-feature exchange between hops (ghosts exchange), through LammpsExchange.
  int pack_forward_comm(int n, int* list, double* buf, int pbc_flag, int* pbc) override;
  void unpack_forward_comm(int n, int first, double* buf) override;
  int pack_reverse_comm(int n, int first, double* buf) override;
  void unpack_reverse_comm(int n, int* list, double* buf) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;

  void allocate();
  void choose_ghost_mode();
  void load_model();
  void run_self_check();
  void log_setup();
  double energy_unit_factor() const;
  void add_results(const hermnet::Outputs& out);
};

}  // namespace LAMMPS_NS
