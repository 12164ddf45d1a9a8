// pair_style hermnet: an exported HermNet model (eV, Å) inside LAMMPS.
//
//   pair_style hermnet model.pt [device cpu|cuda|auto] [ghosts auto|remap|exchange|deep]
//                     [check yes|no] [dump_graph FILE]
//   pair_style hermnet m0.pt m1.pt ... [out_freq N] [out_file FILE] [atomic] [relative L]
//                     [relative_v L] (and the keywords above): a committee; m0 drives the
//                     dynamics, all of them are evaluated every N steps (or when `fix pair
//                     ... hermnet devi_f 1` asks) and their spread is written to FILE in
//                     DeePMD-kit's model_devi.out columns
//   pair_coeff * * El1 El2 ...        (one element name or NULL per LAMMPS atom type)
//
// The model is called only through hermnet::Model (cpp/); the state lives behind a pointer
// (PIMPL) so that this header includes neither torch nor the core.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pair.h"

namespace hermnet {
class Model;
struct Inputs;
struct Outputs;
struct Request;
}  // namespace hermnet

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
  // "devi_f_flag" (a committee's trigger for `fix pair`) and, per atom, "devi_f".
  void* extract(const char* name, int& dim) override;
  void* extract_peratom(const char* name, int& ncol) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;

  void allocate();
  void choose_ghost_mode();
  void parse_settings(int narg, char** arg);
  void load_models();
  std::unique_ptr<hermnet::Model> load_model(const std::string& path);
  void check_committee();
  void run_self_check(const hermnet::Model& model, bool first);
  hermnet::Outputs evaluate(const hermnet::Model& model, const hermnet::Inputs& inputs,
                            const hermnet::Request& request);
  bool deviation_step() const;
  void compute_deviation(const hermnet::Outputs* first);
  void write_deviation(const double* columns, const std::vector<double>& atomic);
  void log_setup();
  double energy_unit_factor() const;
  void add_results(const hermnet::Outputs& out);
};

}  // namespace LAMMPS_NS
