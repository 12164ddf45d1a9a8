// pair_style hermnet. Phases: settings() loads the model (and runs its self-check), coeff()
// maps LAMMPS types to the model's elements, init_style() requests the neighbor list and the
// ghost shell, compute() builds the graph (LammpsGraph), calls hermnet::Model and adds the
// results to LAMMPS' arrays (added, never assigned, so hybrid/overlay works). A committee
// (several model files) adds compute_deviation(): on its steps every member is evaluated on
// model 0's graph, the members' forces on ghosts are folded home, and the spread is reduced
// over ranks (the definitions are in deviation.h).
#include "pair_hermnet.h"

#include <mpi.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cfloat>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "atom.h"
#include "comm.h"
#include "deviation.h"
#include "error.h"
#include "force.h"
#include "hermnet/model.hpp"
#include "lammps_exchange.h"
#include "lammps_graph.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "update.h"
#include "utils.h"

using namespace LAMMPS_NS;
using hermnet_lammps::GhostMode;

struct PairHermNet::Impl {
  std::string path;                // model 0, which drives the dynamics
  std::vector<std::string> paths;  // the committee, model 0 first (one entry: no committee)
  std::string device_request = "cpu";
  std::string dump_graph;  // write the first graph's edges here (tests, debugging)
  bool check = true;
  bool logged = false;
  bool dumped = false;
  std::unique_ptr<hermnet::Model> model;
  std::vector<std::unique_ptr<hermnet::Model>> members;  // models 1.. of a committee
  std::vector<std::vector<int64_t>> member_types;        // model 0's type -> member's type
  bigint out_freq = 100;  // model_devi.out row every out_freq steps; 0: none
  std::string out_file = "model_devi.out";
  bool atomic = false;      // per-atom force deviations in model_devi.out, by atom ID
  double relative = -1.0;   // >= 0: force deviation divided by |<F>| + relative
  double relative_v = -1.0;  // >= 0: virial deviation divided by |<W / N>| + relative_v
  int devi_trigger = 0;     // set by `fix pair ... hermnet devi_f 1` on its steps
  std::vector<double> devi_f;  // per LAMMPS atom (local), the last deviation step's values
  FILE* devi_out = nullptr;    // rank 0
  bigint written_step = -1;
  std::vector<int64_t> model_type;  // per LAMMPS type (1-based), -1 for NULL
  std::vector<std::string> type_names;
  std::string ghosts_request = "auto";
  int64_t chunk_edges = 0;  // Model::set_chunk_edges on every rank; 0: whole graph
  GhostMode mode = GhostMode::Remap;
  hermnet_lammps::LammpsGraph graph;
  std::unique_ptr<hermnet_lammps::LammpsExchange> exchange;
  std::string self_check_report;
  // compute pair values (summed over ranks): model atoms, local ones, ghosts, edges, and
  // the peak resident memory of the process in MiB (after the last compute); a committee's
  // last deviation: max/min/avg virial, max/min/avg force deviation, energy deviation.
  std::array<double, 12> stats{};
};

namespace {

const char* const USAGE =
    "use `pair_style hermnet model.pt [device cpu|cuda|cuda:N|auto] "
    "[ghosts auto|remap|exchange|deep] [chunk EDGES|off] [check yes|no] [dump_graph FILE]`, "
    "or for a committee `pair_style hermnet m0.pt m1.pt ... [out_freq N] [out_file FILE] "
    "[atomic] [relative L] [relative_v L]` and the same keywords";

const char* const KEYWORDS[] = {"device",   "ghosts",   "chunk",  "check",    "dump_graph",
                                "out_freq", "out_file", "atomic", "relative", "relative_v"};

bool is_keyword(const std::string& word) {
  return std::find(std::begin(KEYWORDS), std::end(KEYWORDS), word) != std::end(KEYWORDS);
}

// A word after the first model is another model when it names a file or ends in .pt, so
// that a misspelt keyword is still reported as one.
bool is_model_path(const std::string& word) {
  if (is_keyword(word)) return false;
  const bool pt = word.size() > 3 && word.compare(word.size() - 3, 3, ".pt") == 0;
  return pt || std::ifstream(word).good();
}

const char* mode_name(GhostMode mode) {
  switch (mode) {
    case GhostMode::Remap:
      return "remap";
    case GhostMode::Exchange:
      return "exchange";
    default:
      return "deep";
  }
}

// What the log says of a rank's threads: the core's torch pool runs the model's operators.
std::string threads_line(const std::string& device) {
  const char* omp = std::getenv("OMP_NUM_THREADS");
  const std::string from = omp != nullptr ? fmt::format("OMP_NUM_THREADS={}", omp)
                                          : std::string("OMP_NUM_THREADS unset");
  std::string line =
      fmt::format("{} thread(s) per rank for the model ({})", hermnet::cpu_threads(), from);
  if (device == "cpu") {
    line += fmt::format(", fused kernels with {}-byte vectors", hermnet::fused_vector_bytes());
  }
  return line;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : " ") + item;
  return out;
}

}  // namespace

PairHermNet::PairHermNet(LAMMPS* lmp) : Pair(lmp), impl_(new Impl) {
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  // The model's own virial is exact also when ghosts are remapped to their owners (one
  // rank), where F dot r over LAMMPS' atoms would miss the periodic images.
  no_virial_fdotr_compute = 1;
  centroidstressflag = CENTROID_AVAIL;
  nextra = static_cast<int>(impl_->stats.size());
  pvector = impl_->stats.data();
}

PairHermNet::~PairHermNet() {
  if (impl_->devi_out != nullptr) fclose(impl_->devi_out);
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
    memory->destroy(cutghost);
  }
}

void PairHermNet::compute(int eflag, int vflag) {
  ev_init(eflag, vflag);
  Impl& s = *impl_;
  const double cutoff = s.model->metadata().cutoff;
  try {
    s.graph.build(*atom, *list, s.model_type, cutoff, s.mode);
    if (!s.dump_graph.empty() && !s.dumped) {
      const std::string file =
          comm->nprocs > 1 ? s.dump_graph + ".rank" + std::to_string(comm->me) : s.dump_graph;
      s.graph.write_edges(*atom, file);
      s.dumped = true;
    }
  } catch (const std::exception& err) {
    error->one(FLERR, "pair_style hermnet: {}", err.what());
  }
  s.stats[0] = static_cast<double>(s.graph.n_all());
  s.stats[1] = static_cast<double>(s.graph.n_local());
  s.stats[2] = static_cast<double>(s.graph.n_all() - s.graph.n_local());
  s.stats[3] = static_cast<double>(s.graph.n_edges());
  // Energy comes from local atoms only: a rank that owns none has nothing to add, unless
  // its neighbors' ghost exchanges pass through it (or a committee's reductions need it).
  const bool evaluated = s.graph.n_local() > 0 || s.mode == GhostMode::Exchange;
  const bool deviation = deviation_step();
  if (!evaluated && !deviation) return;

  hermnet::Request request;
  request.forces = true;
  request.virial = vflag_global != 0 || deviation;
  request.atomic_virial = vflag_atom != 0 || cvflag_atom != 0;
  hermnet::Outputs out;
  if (evaluated) {
    out = evaluate(*s.model, s.graph.inputs(), request);
    add_results(out);
  }
  if (deviation) compute_deviation(evaluated ? &out : nullptr);
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) s.stats[4] = usage.ru_maxrss / 1024.0;  // kB on Linux
}

hermnet::Outputs PairHermNet::evaluate(const hermnet::Model& model, const hermnet::Inputs& inputs,
                                       const hermnet::Request& request) {
  Impl& s = *impl_;
  hermnet::Outputs out;
  try {
    // One rank whose ghosts all map to its own atoms has no row to refresh: the whole graph
    // at once, as in remap (hop by hop cost 5 % more on a 16k-atom alloy).
    const bool rows_to_refresh = comm->nprocs > 1 || s.graph.n_all() > s.graph.n_local();
    if (s.mode == GhostMode::Exchange && rows_to_refresh) {
      s.exchange->bind(&s.graph.lammps_index(), s.graph.n_local(), atom->nlocal + atom->nghost);
      out = model.compute_exchanged(inputs, *s.exchange, request);
    } else {
      out = model.compute(inputs, request);
    }
  } catch (const std::exception& err) {
    if (s.members.empty()) error->one(FLERR, "pair_style hermnet: {}", err.what());
    error->one(FLERR, "pair_style hermnet: {}: {}", model.path(), err.what());
  }
  return out;
}

int PairHermNet::pack_forward_comm(int n, int* list, double* buf, int /*pbc_flag*/, int* /*pbc*/) {
  return impl_->exchange->pack_forward(n, list, buf);
}

void PairHermNet::unpack_forward_comm(int n, int first, double* buf) {
  impl_->exchange->unpack_forward(n, first, buf);
}

int PairHermNet::pack_reverse_comm(int n, int first, double* buf) {
  return impl_->exchange->pack_reverse(n, first, buf);
}

void PairHermNet::unpack_reverse_comm(int n, int* list, double* buf) {
  impl_->exchange->unpack_reverse(n, list, buf);
}

void PairHermNet::add_results(const hermnet::Outputs& out) {
  const double k = energy_unit_factor();
  const std::vector<int>& index = impl_->graph.lammps_index();
  const int64_t n_local = impl_->graph.n_local();
  const size_t n_all = index.size();
  double** f = atom->f;
  for (size_t m = 0; m < n_all; ++m) {
    for (int d = 0; d < 3; ++d) f[index[m]][d] += k * out.forces[3 * m + d];
  }
  if (eflag_global) eng_vdwl += k * out.energy;
  if (eflag_atom) {
    for (int64_t m = 0; m < n_local; ++m) eatom[index[m]] += k * out.atomic_energy[m];
  }
  // Model virial W[a][b] = sum x_a F_b (row-major); LAMMPS order xx yy zz xy xz yz (yx zx zy).
  static const int AB[9][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {0, 2},
                               {1, 2}, {1, 0}, {2, 0}, {2, 1}};
  if (vflag_global) {
    for (int c = 0; c < 6; ++c) virial[c] += k * out.virial[3 * AB[c][0] + AB[c][1]];
  }
  if (vflag_atom) {
    for (size_t m = 0; m < n_all; ++m) {
      const double* w = &out.atomic_virial[9 * m];
      for (int c = 0; c < 6; ++c) vatom[index[m]][c] += k * w[3 * AB[c][0] + AB[c][1]];
    }
  }
  if (cvflag_atom) {
    for (size_t m = 0; m < n_all; ++m) {
      const double* w = &out.atomic_virial[9 * m];
      for (int c = 0; c < 9; ++c) cvatom[index[m]][c] += k * w[3 * AB[c][0] + AB[c][1]];
    }
  }
}

void PairHermNet::settings(int narg, char** arg) {
  if (narg < 1) error->all(FLERR, "pair_style hermnet needs a model file; {}", USAGE);
  Impl& s = *impl_;
  parse_settings(narg, arg);
  energy_unit_factor();  // stops early for unsupported units
  choose_ghost_mode();
  load_models();
  int width = 0;  // doubles per atom of the ghost exchanges, the widest member's
  for (size_t m = 0; m <= s.members.size(); ++m) {
    hermnet::Model& model = m == 0 ? *s.model : *s.members[m - 1];
    if (s.chunk_edges > 0) {
      if (!model.has_hop_interface()) {
        error->all(FLERR,
                   "pair_style hermnet: {} was exported by an older hermnet without the "
                   "hop-by-hop methods that `chunk` needs; re-export it with `hermnet export`, "
                   "or drop `chunk`",
                   model.path());
      }
      model.set_chunk_edges(s.chunk_edges);
    }
    if (s.mode == GhostMode::Exchange) {
      if (!model.has_hop_interface()) {
        error->all(FLERR,
                   "pair_style hermnet: {} was exported by an older hermnet without the "
                   "hop-by-hop methods that ghost exchange needs; re-export it with `hermnet "
                   "export`, or use `ghosts deep`",
                   model.path());
      }
      width = std::max(width, static_cast<int>(model.exchange_width()));
    }
  }
  // One row of scalar and vector features per atom, in both directions; a committee also
  // folds its members' forces on ghosts home (3 values per member and atom).
  comm_forward = comm_reverse = width;
  const bool fold = !s.members.empty() && s.mode != GhostMode::Remap;
  if (fold) comm_reverse = std::max(comm_reverse, 3 * static_cast<int>(s.paths.size()));
  if (s.mode == GhostMode::Exchange || fold) {
    s.exchange = std::make_unique<hermnet_lammps::LammpsExchange>(this, comm);
  } else {
    s.exchange.reset();
  }
  if (s.check) {
    run_self_check(*s.model, true);
    for (const auto& member : s.members) run_self_check(*member, false);
  }
  if (s.devi_out != nullptr) fclose(s.devi_out);
  s.devi_out = nullptr;
  s.written_step = -1;
  if (!s.members.empty() && s.out_freq > 0 && comm->me == 0) {
    s.devi_out = fopen(s.out_file.c_str(), "w");
    if (s.devi_out == nullptr) {
      error->one(FLERR, "pair_style hermnet: cannot open out_file {}: {}", s.out_file,
                 utils::getsyserror());
    }
    fputs(hermnet_lammps::model_devi_header(s.atomic).c_str(), s.devi_out);
    fflush(s.devi_out);
  }
  // A new model needs a new type-to-element map.
  if (allocated) {
    for (int i = 1; i <= atom->ntypes; ++i) {
      for (int j = i; j <= atom->ntypes; ++j) setflag[i][j] = 0;
    }
  }
  s.model_type.clear();
  s.logged = false;
  s.dumped = false;
}

void PairHermNet::parse_settings(int narg, char** arg) {
  Impl& s = *impl_;
  s.paths.assign(1, arg[0]);
  int iarg = 1;
  while (iarg < narg && is_model_path(arg[iarg])) s.paths.emplace_back(arg[iarg++]);
  s.path = s.paths[0];
  s.device_request = "cpu";
  s.ghosts_request = "auto";
  s.check = true;
  s.chunk_edges = 0;
  s.dump_graph.clear();
  s.out_freq = 100;
  s.out_file = "model_devi.out";
  s.atomic = false;
  s.relative = s.relative_v = -1.0;
  std::string committee_keyword;
  while (iarg < narg) {
    const std::string key = arg[iarg];
    if (key == "atomic") {
      s.atomic = true;
      committee_keyword = key;
      ++iarg;
      continue;
    }
    if (!is_keyword(key)) {
      error->all(FLERR, "pair_style hermnet: unknown keyword '{}'; {}", key, USAGE);
    }
    if (iarg + 1 >= narg) error->all(FLERR, "pair_style hermnet: {} needs a value; {}", key, USAGE);
    const std::string value = arg[iarg + 1];
    iarg += 2;
    if (key == "device") {
      const bool numbered = value.rfind("cuda:", 0) == 0 && value.size() > 5 &&
                            value.find_first_not_of("0123456789", 5) == std::string::npos;
      if (value != "cpu" && value != "cuda" && value != "auto" && !numbered) {
        error->all(FLERR, "pair_style hermnet: device must be cpu, cuda, cuda:N or auto, not '{}'",
                   value);
      }
      s.device_request = value;
    } else if (key == "ghosts") {
      if (value != "auto" && value != "remap" && value != "exchange" && value != "deep") {
        error->all(FLERR,
                   "pair_style hermnet: ghosts must be auto, remap, exchange or deep, not '{}'",
                   value);
      }
      s.ghosts_request = value;
    } else if (key == "chunk") {
      s.chunk_edges = value == "off" ? 0 : utils::bnumeric(FLERR, value, false, lmp);
      if (s.chunk_edges < 0 || (value != "off" && s.chunk_edges == 0)) {
        error->all(FLERR,
                   "pair_style hermnet: chunk must be a positive number of edges per chunk (for "
                   "example 200000 on a CPU, 1000000 on a GPU) or off, not '{}'",
                   value);
      }
    } else if (key == "check") {
      s.check = utils::logical(FLERR, value, false, lmp) == 1;
    } else if (key == "dump_graph") {
      s.dump_graph = value;
    } else {
      committee_keyword = key;
      bool negative = false;
      if (key == "out_freq") {
        s.out_freq = utils::bnumeric(FLERR, value, false, lmp);
        negative = s.out_freq < 0;
      } else if (key == "out_file") {
        s.out_file = value;
      } else if (key == "relative") {
        s.relative = utils::numeric(FLERR, value, false, lmp);
        negative = s.relative < 0.0;
      } else {
        s.relative_v = utils::numeric(FLERR, value, false, lmp);
        negative = s.relative_v < 0.0;
      }
      if (negative) {
        error->all(FLERR, "pair_style hermnet: {} must not be negative, not '{}'", key, value);
      }
    }
  }
  if (!committee_keyword.empty() && s.paths.size() < 2) {
    error->all(FLERR,
               "pair_style hermnet: `{}` is a committee keyword, but only one model was given "
               "({}); list two or more models trained alike with different seeds: `pair_style "
               "hermnet m0.pt m1.pt ... {} ...`",
               committee_keyword, s.path, committee_keyword);
  }
}

void PairHermNet::choose_ghost_mode() {
  Impl& s = *impl_;
  const std::string& want = s.ghosts_request;
  if (want == "remap" && comm->nprocs > 1) {
    error->all(FLERR,
               "pair_style hermnet: `ghosts remap` maps ghosts to local atoms and works on one "
               "rank only, but this run has {}; use `ghosts exchange` (or auto)",
               comm->nprocs);
  }
  if (want == "auto") {
    s.mode = comm->nprocs > 1 ? GhostMode::Exchange : GhostMode::Remap;
  } else if (want == "remap") {
    s.mode = GhostMode::Remap;
  } else if (want == "exchange") {
    s.mode = GhostMode::Exchange;
  } else {
    s.mode = GhostMode::Explicit;
  }
  ghostneigh = s.mode == GhostMode::Explicit ? 1 : 0;
}

void PairHermNet::load_models() {
  Impl& s = *impl_;
  s.members.clear();
  for (size_t m = 0; m < s.paths.size(); ++m) {
    std::unique_ptr<hermnet::Model> model = load_model(s.paths[m]);
    if (m == 0) {
      s.model = std::move(model);
    } else {
      s.members.push_back(std::move(model));
    }
  }
  check_committee();
}

std::unique_ptr<hermnet::Model> PairHermNet::load_model(const std::string& path) {
  Impl& s = *impl_;
  if (!std::ifstream(path).good()) {
    error->all(FLERR,
               "pair_style hermnet: model file '{}' does not exist or is not readable; give the "
               "path of a model written by `hermnet export` (relative to the directory LAMMPS "
               "runs in)",
               path);
  }
  std::string device = s.device_request;
  const int n_gpus = hermnet::cuda_device_count();
  if (device == "auto") device = n_gpus > 0 ? "cuda" : "cpu";
  // `cuda:N` names the GPU; plain `cuda` picks one per rank.
  if (device == "cuda" && n_gpus > 0) {
    // One GPU per rank, chosen by the rank's index on its node.
    MPI_Comm node;
    int node_rank = 0;
    MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, comm->me, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &node_rank);
    MPI_Comm_free(&node);
    device = "cuda:" + std::to_string(node_rank % n_gpus);
  }
  std::unique_ptr<hermnet::Model> model;
  try {
    model = std::make_unique<hermnet::Model>(path, device);
  } catch (const std::exception& err) {
    std::string message = err.what();
    if (message.find("hermnet export") == std::string::npos &&
        message.find("device") == std::string::npos) {
      message += "; pass a model written by `hermnet export`";
    }
    error->all(FLERR, "pair_style hermnet: cannot use '{}': {}", path, message);
  }
  return model;
}

void PairHermNet::check_committee() {
  Impl& s = *impl_;
  const hermnet::Metadata& first = s.model->metadata();
  s.member_types.clear();
  for (const auto& member : s.members) {
    const hermnet::Metadata& m = member->metadata();
    std::vector<std::string> problems;
    std::vector<std::string> a = m.elements, b = first.elements;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b) problems.push_back(fmt::format("elements [{}] vs [{}]", join(m.elements),
                                               join(first.elements)));
    if (m.cutoff != first.cutoff) {
      problems.push_back(fmt::format("cutoff {:.10g} Å vs {:.10g} Å", m.cutoff, first.cutoff));
    }
    if (m.energy_unit != first.energy_unit || m.length_unit != first.length_unit) {
      problems.push_back(fmt::format("units {} and {} vs {} and {}", m.energy_unit,
                                     m.length_unit, first.energy_unit, first.length_unit));
    }
    if (!problems.empty()) {
      std::string what;
      for (const auto& p : problems) what += (what.empty() ? "" : "; ") + p;
      error->all(FLERR,
                 "pair_style hermnet: the committee's models differ: {} has {} of {}; a "
                 "committee is models trained alike (same model section, different seeds), so "
                 "that their forces can be compared atom by atom",
                 member->path(), what, s.path);
    }
    // Types are matched by element name: the members may list them in another order.
    std::vector<int64_t> map;
    for (const auto& name : first.elements) {
      map.push_back(std::find(m.elements.begin(), m.elements.end(), name) - m.elements.begin());
    }
    s.member_types.push_back(map);
  }
}

void PairHermNet::run_self_check(const hermnet::Model& model, bool first) {
  Impl& s = *impl_;
  // 1: passed; 0: ran and differs; -1: could not run (no result to compare).
  int status = 1;
  std::string report;
  if (comm->me == 0) {
    try {
      const hermnet::SelfCheckResult result = model.self_check();
      status = result.passed ? 1 : 0;
      report = result.report;
    } catch (const std::exception& err) {
      status = -1;
      report = err.what();
    }
  }
  if (first) s.self_check_report = report;
  MPI_Bcast(&status, 1, MPI_INT, 0, world);
  if (status == -1) {
    error->all(FLERR,
               "pair_style hermnet: the model's embedded self-check could not run through the "
               "C++ path, so this model file cannot be verified with this build (no result was "
               "compared): {}. Check it with `hermnet info {}`, re-export it with the installed "
               "hermnet (`hermnet export`), or pass `check no` at your own risk",
               report, model.path());
  }
  if (status == 0) {
    error->all(FLERR,
               "pair_style hermnet: the model's embedded self-check frame gives different "
               "results through the C++ path than at export, so this model file or this build "
               "cannot be trusted: {}. Re-export the model with the installed hermnet "
               "(`hermnet export`), check it with `hermnet info {}`, or pass `check no` at your "
               "own risk",
               report, model.path());
  }
}

void PairHermNet::allocate() {
  allocated = 1;
  const int n = atom->ntypes;
  memory->create(setflag, n + 1, n + 1, "pair:setflag");
  memory->create(cutsq, n + 1, n + 1, "pair:cutsq");
  memory->create(cutghost, n + 1, n + 1, "pair:cutghost");
  for (int i = 1; i <= n; ++i) {
    for (int j = i; j <= n; ++j) setflag[i][j] = 0;
  }
}

void PairHermNet::coeff(int narg, char** arg) {
  if (!allocated) allocate();
  Impl& s = *impl_;
  const std::vector<std::string>& elements = s.model->metadata().elements;
  const int ntypes = atom->ntypes;
  if (narg < 2 || std::strcmp(arg[0], "*") != 0 || std::strcmp(arg[1], "*") != 0) {
    error->all(FLERR,
               "pair_coeff for hermnet must be `pair_coeff * * El1 El2 ...` with one element "
               "name (or NULL) per atom type");
  }
  if (narg - 2 != ntypes) {
    error->all(FLERR,
               "pair_coeff * * for hermnet needs one element name (or NULL) per atom type: this "
               "system has {} atom type(s) but {} name(s) were given; the model's elements are: "
               "{}",
               ntypes, narg - 2, join(elements));
  }
  s.model_type.assign(ntypes + 1, -1);
  s.type_names.assign(ntypes + 1, "NULL");
  for (int t = 1; t <= ntypes; ++t) {
    const std::string name = arg[t + 1];
    s.type_names[t] = name;
    if (name == "NULL") continue;
    const auto it = std::find(elements.begin(), elements.end(), name);
    if (it == elements.end()) {
      error->all(FLERR,
                 "pair_coeff: element '{}' (atom type {}) is not in the model {}; the model's "
                 "elements are: {} (use NULL for types handled by another pair style)",
                 name, t, s.path, join(elements));
    }
    s.model_type[t] = it - elements.begin();
  }
  int count = 0;
  for (int i = 1; i <= ntypes; ++i) {
    for (int j = i; j <= ntypes; ++j) {
      setflag[i][j] = s.model_type[i] >= 0 && s.model_type[j] >= 0 ? 1 : 0;
      count += setflag[i][j];
    }
  }
  if (count == 0) error->all(FLERR, "pair_coeff * * for hermnet maps every type to NULL");
  s.logged = false;
}

void PairHermNet::init_style() {
  Impl& s = *impl_;
  if (force->newton_pair == 0) {
    error->all(FLERR,
               "pair_style hermnet requires newton_pair on (forces on ghost atoms are summed "
               "onto their owners); use `newton on` or remove `newton off`");
  }
  if (s.mode == GhostMode::Remap && atom->tag_enable == 0) {
    error->all(FLERR, "pair_style hermnet requires atom IDs; remove `atom_modify id no`");
  }
  if (comm->nprocs > 1 && s.mode == GhostMode::Remap) {
    error->all(FLERR, "pair_style hermnet: the number of ranks changed; repeat pair_style");
  }
  energy_unit_factor();
  if (s.mode != GhostMode::Explicit) {
    // Remap and Exchange: edges of local atoms only, ghost shell one cutoff + skin deep.
    neighbor->add_request(this, NeighConst::REQ_FULL);
  } else {
    neighbor->add_request(this, NeighConst::REQ_FULL | NeighConst::REQ_GHOST);
    // Local energies see every atom within the receptive field; atoms move up to skin
    // between rebuilds, so the ghost shell must be receptive field + skin deep.
    double needed = s.model->metadata().receptive_field + neighbor->skin;
    for (const auto& member : s.members) {
      needed = std::max(needed, member->metadata().receptive_field + neighbor->skin);
    }
    if (comm->mode != 0) {
      error->all(FLERR,
                 "pair_style hermnet supports only `comm_modify mode single`; use "
                 "`comm_modify mode single cutoff {:.6g}`",
                 needed);
    }
    if (comm->cutghostuser < needed) {
      comm->cutghostuser = needed;
      if (comm->me == 0) {
        utils::logmesg(lmp, "HermNet: ghost cutoff set to {:.6g} Å (`comm_modify cutoff {:.6g}`)\n",
                       needed, needed);
      }
    }
  }
  s.devi_f.assign(std::max(atom->nmax, 1), 0.0);
  if (!s.logged) log_setup();
  s.logged = true;
}

double PairHermNet::init_one(int i, int j) {
  if (setflag[i][j] == 0) error->all(FLERR, "All pair coeffs are not set");
  const double cutoff = impl_->model->metadata().cutoff;
  cutghost[i][j] = cutghost[j][i] = cutoff;
  return cutoff;
}

double PairHermNet::energy_unit_factor() const {
  const std::string units = update->unit_style;
  if (units == "metal") return 1.0;
  if (units == "real") return utils::get_conversion_factor(utils::ENERGY, utils::METAL2REAL);
  error->all(FLERR,
             "pair_style hermnet: the model is in eV and Å; use `units metal` (or `units real`, "
             "converted to kcal/mol), not `units {}`",
             units);
  return 0.0;
}

void PairHermNet::log_setup() {
  if (comm->me != 0) return;
  const Impl& s = *impl_;
  const hermnet::Metadata& m = s.model->metadata();
  std::string table;
  for (int t = 1; t < static_cast<int>(s.type_names.size()); ++t) {
    table += fmt::format("{}{} -> {}", t > 1 ? ", " : "", t, s.type_names[t]);
  }
  const double skin = neighbor->skin;
  std::string ghosts;
  if (s.mode == GhostMode::Remap) {
    ghosts = fmt::format(
        "ghosts remap: one rank, ghosts mapped to their owners by atom ID, ghost cutoff {:.6g} Å",
        m.cutoff + skin);
  } else if (s.mode == GhostMode::Exchange) {
    ghosts = fmt::format(
        "ghosts exchange: {} rank(s), ghost features ({} values per atom) refreshed after each "
        "of {} hops, ghost cutoff {:.6g} Å",
        comm->nprocs, s.model->exchange_width(), m.num_message_hops,
        std::max(comm->cutghostuser, m.cutoff + skin));
  } else {
    ghosts = fmt::format("ghosts deep: {} rank(s), explicit ghosts, ghost cutoff {:.6g} Å",
                         comm->nprocs, std::max(comm->cutghostuser, m.receptive_field + skin));
  }
  utils::logmesg(
      lmp,
      "HermNet: model {} (hermnet {}, torch {}, variant {}, {} parameters, training "
      "data: {})\n"
      "HermNet: elements {}; atom types {}\n"
      "HermNet: dtype {}, device {}, cutoff {:.6g} Å, {} message hops, receptive "
      "field {:.6g} Å\n"
      "HermNet: {}{}\n"
      "HermNet: {}\n"
      "HermNet: units {}: energies x {:.9g}{}\n",
      s.path, m.hermnet_version, m.torch_version, m.variant, m.num_parameters, m.training_data,
      join(m.elements), table,
      m.dtype + (m.tf32 ? " (TF32 matrix products on GPUs)" : "") +
          (m.fused_edges ? ", fused edge operators" : "") +
          (s.model->device() == "cpu" ? ", host heap: " + hermnet::keep_host_heap() : ""),
      s.model->device(), m.cutoff, m.num_message_hops, m.receptive_field, ghosts,
      s.chunk_edges > 0
          ? fmt::format("\nHermNet: chunked evaluation, at most {} edges per chunk", s.chunk_edges)
          : std::string(),
      threads_line(s.model->device()), update->unit_style, energy_unit_factor(),
      s.check ? "\nHermNet: " + s.self_check_report : "\nHermNet: self-check skipped");
  if (s.members.empty()) return;
  std::vector<std::string> others;
  for (size_t m = 1; m < s.paths.size(); ++m) others.push_back(s.paths[m]);
  utils::logmesg(lmp,
                 "HermNet: committee of {} models ({} drives the dynamics; {}): model deviation "
                 "{}{}{}{}\n",
                 s.paths.size(), s.path, join(others),
                 s.out_freq > 0 ? fmt::format("every {} steps to {}", s.out_freq, s.out_file)
                                : std::string("only where `fix pair ... devi_f 1` asks"),
                 s.atomic ? ", per atom" : "",
                 s.relative >= 0.0 ? fmt::format(", forces relative (level {:g})", s.relative)
                                   : std::string(),
                 s.relative_v >= 0.0
                     ? fmt::format(", virial relative (level {:g})", s.relative_v)
                     : std::string());
}

void* PairHermNet::extract(const char* name, int& dim) {
  dim = 0;
  if (std::strcmp(name, "devi_f_flag") == 0 && !impl_->members.empty()) {
    return &impl_->devi_trigger;
  }
  return nullptr;
}

void* PairHermNet::extract_peratom(const char* name, int& ncol) {
  ncol = 0;
  if (std::strcmp(name, "devi_f") == 0 && !impl_->members.empty()) {
    if (impl_->devi_f.empty()) impl_->devi_f.assign(std::max(atom->nmax, 1), 0.0);
    return impl_->devi_f.data();
  }
  return nullptr;
}

bool PairHermNet::deviation_step() const {
  const Impl& s = *impl_;
  if (s.members.empty()) return false;
  return s.devi_trigger != 0 || (s.out_freq > 0 && update->ntimestep % s.out_freq == 0);
}

void PairHermNet::compute_deviation(const hermnet::Outputs* first) {
  Impl& s = *impl_;
  const int n_models = static_cast<int>(s.paths.size());
  const int width = 3 * n_models;
  const double k = energy_unit_factor();
  const std::vector<int>& index = s.graph.lammps_index();
  const int64_t n_local = s.graph.n_local();
  const size_t n_all = index.size();
  // Row a: the models' forces on model atom a, model after model (LAMMPS units).
  std::vector<double> rows(n_all * width, 0.0);
  std::vector<double> energies(n_models, 0.0), virials(9 * n_models, 0.0);
  if (first != nullptr) {
    hermnet::Request request;
    request.virial = true;
    const hermnet::Inputs inputs = s.graph.inputs();
    std::vector<int64_t> types(n_all);
    for (int m = 0; m < n_models; ++m) {
      hermnet::Outputs member;
      const hermnet::Outputs* out = first;
      if (m > 0) {
        hermnet::Inputs remapped = inputs;
        for (size_t a = 0; a < n_all; ++a) types[a] = s.member_types[m - 1][inputs.types[a]];
        remapped.types = types.data();
        member = evaluate(*s.members[m - 1], remapped, request);
        out = &member;
      }
      for (size_t a = 0; a < n_all; ++a) {
        for (int d = 0; d < 3; ++d) rows[a * width + 3 * m + d] = k * out->forces[3 * a + d];
      }
      energies[m] = k * out->energy;
      for (int c = 0; c < 9; ++c) virials[9 * m + c] = k * out->virial[c];
    }
  }
  // Forces on ghosts go home before the spread is taken (every rank, also one without atoms).
  if (s.mode != GhostMode::Remap) {
    s.exchange->bind(&index, n_local, atom->nlocal + atom->nghost);
    try {
      s.exchange->reverse(rows.data(), static_cast<int64_t>(n_all), width);
    } catch (const std::exception& err) {
      error->one(FLERR, "pair_style hermnet: {}", err.what());
    }
  }
  std::vector<double> devi(n_local);
  hermnet_lammps::force_deviation(rows.data(), n_local, n_models, s.relative, devi.data());
  s.devi_f.assign(std::max(atom->nmax, 1), 0.0);
  double local[3] = {0.0, DBL_MAX, 0.0};  // max, min, sum over this rank's atoms
  for (int64_t a = 0; a < n_local; ++a) {
    s.devi_f[index[a]] = devi[a];
    local[0] = std::max(local[0], devi[a]);
    local[1] = std::min(local[1], devi[a]);
    local[2] += devi[a];
  }
  double total[3];
  double n_atoms = static_cast<double>(n_local);
  MPI_Allreduce(&local[0], &total[0], 1, MPI_DOUBLE, MPI_MAX, world);
  MPI_Allreduce(&local[1], &total[1], 1, MPI_DOUBLE, MPI_MIN, world);
  MPI_Allreduce(&local[2], &total[2], 1, MPI_DOUBLE, MPI_SUM, world);
  MPI_Allreduce(MPI_IN_PLACE, &n_atoms, 1, MPI_DOUBLE, MPI_SUM, world);
  MPI_Allreduce(MPI_IN_PLACE, energies.data(), n_models, MPI_DOUBLE, MPI_SUM, world);
  MPI_Allreduce(MPI_IN_PLACE, virials.data(), 9 * n_models, MPI_DOUBLE, MPI_SUM, world);
  if (n_atoms == 0.0) return;
  hermnet_lammps::DeviationColumns columns =
      hermnet_lammps::virial_energy_deviation(virials, energies, n_atoms, s.relative_v);
  columns[3] = total[0];
  columns[4] = total[1];
  columns[5] = total[2] / n_atoms;
  // compute pair sums pvector over ranks: the frame's values come from rank 0 only.
  for (size_t c = 0; c < columns.size(); ++c) s.stats[5 + c] = comm->me == 0 ? columns[c] : 0.0;
  const bigint step = update->ntimestep;
  if (s.out_freq > 0 && step % s.out_freq == 0 && step != s.written_step) {
    s.written_step = step;
    write_deviation(columns.data(), devi);
  }
}

void PairHermNet::write_deviation(const double* columns, const std::vector<double>& atomic) {
  Impl& s = *impl_;
  std::vector<double> values;  // atomic: every model atom's deviation, by atom ID
  if (s.atomic) {
    // (ID, deviation) pairs of every rank's model atoms, gathered on rank 0.
    const std::vector<int>& index = s.graph.lammps_index();
    std::vector<double> mine;
    for (size_t a = 0; a < atomic.size(); ++a) {
      mine.push_back(static_cast<double>(atom->tag[index[a]]));
      mine.push_back(atomic[a]);
    }
    int count = static_cast<int>(mine.size());
    std::vector<int> counts(comm->nprocs), offsets(comm->nprocs, 0);
    MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, world);
    for (int r = 1; r < comm->nprocs; ++r) offsets[r] = offsets[r - 1] + counts[r - 1];
    std::vector<double> all(comm->me == 0 ? offsets.back() + counts.back() : 0);
    MPI_Gatherv(mine.data(), count, MPI_DOUBLE, all.data(), counts.data(), offsets.data(),
                MPI_DOUBLE, 0, world);
    std::vector<std::pair<double, double>> pairs;
    for (size_t i = 0; i + 1 < all.size(); i += 2) pairs.emplace_back(all[i], all[i + 1]);
    std::sort(pairs.begin(), pairs.end());
    for (const auto& p : pairs) values.push_back(p.second);
  }
  if (comm->me != 0 || s.devi_out == nullptr) return;
  hermnet_lammps::DeviationColumns row;
  std::copy(columns, columns + row.size(), row.begin());
  fputs(hermnet_lammps::model_devi_row(update->ntimestep, row, values).c_str(), s.devi_out);
  fflush(s.devi_out);
}
