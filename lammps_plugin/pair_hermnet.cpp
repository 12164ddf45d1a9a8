// pair_style hermnet. Phases: settings() loads the model (and runs its self-check), coeff()
// maps LAMMPS types to the model's elements, init_style() requests the neighbor list and the
// ghost shell, compute() builds the graph (LammpsGraph), calls hermnet::Model and adds the
// results to LAMMPS' arrays (added, never assigned, so hybrid/overlay works).
#include "pair_hermnet.h"

#include <mpi.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include "atom.h"
#include "comm.h"
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
  std::string path;
  std::string device_request = "cpu";
  std::string dump_graph;  // write the first graph's edges here (tests, debugging)
  bool check = true;
  bool logged = false;
  bool dumped = false;
  std::unique_ptr<hermnet::Model> model;
  std::vector<int64_t> model_type;  // per LAMMPS type (1-based), -1 for NULL
  std::vector<std::string> type_names;
  std::string ghosts_request = "auto";
  int64_t chunk_edges = 0;  // Model::set_chunk_edges on every rank; 0: whole graph
  GhostMode mode = GhostMode::Remap;
  hermnet_lammps::LammpsGraph graph;
  std::unique_ptr<hermnet_lammps::LammpsExchange> exchange;
  std::string self_check_report;
  // compute pair values (summed over ranks): model atoms, local ones, ghosts, edges, and
  // the peak resident memory of the process in MiB (after the last compute).
  std::array<double, 5> stats{};
};

namespace {

const char* const USAGE =
    "use `pair_style hermnet model.pt [device cpu|cuda|cuda:N|auto] "
    "[ghosts auto|remap|exchange|deep] [chunk EDGES|off] [check yes|no] [dump_graph FILE]`";

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
  s.stats = {static_cast<double>(s.graph.n_all()), static_cast<double>(s.graph.n_local()),
             static_cast<double>(s.graph.n_all() - s.graph.n_local()),
             static_cast<double>(s.graph.n_edges())};
  // Energy comes from local atoms only: a rank that owns none has nothing to add, unless
  // its neighbors' ghost exchanges pass through it.
  if (s.graph.n_local() == 0 && s.mode != GhostMode::Exchange) return;

  hermnet::Request request;
  request.forces = true;
  request.virial = vflag_global != 0;
  request.atomic_virial = vflag_atom != 0 || cvflag_atom != 0;
  hermnet::Outputs out;
  try {
    if (s.mode == GhostMode::Exchange) {
      s.exchange->bind(&s.graph.lammps_index(), s.graph.n_local(), atom->nlocal + atom->nghost);
      out = s.model->compute_exchanged(s.graph.inputs(), *s.exchange, request);
    } else {
      out = s.model->compute(s.graph.inputs(), request);
    }
  } catch (const std::exception& err) {
    error->one(FLERR, "pair_style hermnet: {}", err.what());
  }
  add_results(out);
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) s.stats[4] = usage.ru_maxrss / 1024.0;  // kB on Linux
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
  s.path = arg[0];
  s.device_request = "cpu";
  s.ghosts_request = "auto";
  s.check = true;
  s.chunk_edges = 0;
  s.dump_graph.clear();
  for (int iarg = 1; iarg < narg; iarg += 2) {
    const std::string key = arg[iarg];
    if (iarg + 1 >= narg) error->all(FLERR, "pair_style hermnet: {} needs a value; {}", key, USAGE);
    const std::string value = arg[iarg + 1];
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
      error->all(FLERR, "pair_style hermnet: unknown keyword '{}'; {}", key, USAGE);
    }
  }
  energy_unit_factor();  // stops early for unsupported units
  choose_ghost_mode();
  load_model();
  if (s.chunk_edges > 0) {
    if (!s.model->has_hop_interface()) {
      error->all(FLERR,
                 "pair_style hermnet: {} was exported by an older hermnet without the hop-by-hop "
                 "methods that `chunk` needs; re-export it with `hermnet export`, or drop `chunk`",
                 s.path);
    }
    s.model->set_chunk_edges(s.chunk_edges);
  }
  if (s.mode == GhostMode::Exchange) {
    if (!s.model->has_hop_interface()) {
      error->all(FLERR,
                 "pair_style hermnet: {} was exported by an older hermnet without the hop-by-hop "
                 "methods that ghost exchange needs; re-export it with `hermnet export`, or use "
                 "`ghosts deep`",
                 s.path);
    }
    // One row of scalar and vector features per atom, in both directions.
    comm_forward = comm_reverse = static_cast<int>(s.model->exchange_width());
    s.exchange = std::make_unique<hermnet_lammps::LammpsExchange>(this, comm);
  } else {
    comm_forward = comm_reverse = 0;
    s.exchange.reset();
  }
  if (s.check) run_self_check();
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

void PairHermNet::load_model() {
  Impl& s = *impl_;
  if (!std::ifstream(s.path).good()) {
    error->all(FLERR,
               "pair_style hermnet: model file '{}' does not exist or is not readable; give the "
               "path of a model written by `hermnet export` (relative to the directory LAMMPS "
               "runs in)",
               s.path);
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
  try {
    s.model = std::make_unique<hermnet::Model>(s.path, device);
  } catch (const std::exception& err) {
    std::string message = err.what();
    if (message.find("hermnet export") == std::string::npos &&
        message.find("device") == std::string::npos) {
      message += "; pass a model written by `hermnet export`";
    }
    error->all(FLERR, "pair_style hermnet: cannot use '{}': {}", s.path, message);
  }
}

void PairHermNet::run_self_check() {
  Impl& s = *impl_;
  // 1: passed; 0: ran and differs; -1: could not run (no result to compare).
  int status = 1;
  if (comm->me == 0) {
    try {
      const hermnet::SelfCheckResult result = s.model->self_check();
      status = result.passed ? 1 : 0;
      s.self_check_report = result.report;
    } catch (const std::exception& err) {
      status = -1;
      s.self_check_report = err.what();
    }
  }
  MPI_Bcast(&status, 1, MPI_INT, 0, world);
  if (status == -1) {
    error->all(FLERR,
               "pair_style hermnet: the model's embedded self-check could not run through the "
               "C++ path, so this model file cannot be verified with this build (no result was "
               "compared): {}. Check it with `hermnet info {}`, re-export it with the installed "
               "hermnet (`hermnet export`), or pass `check no` at your own risk",
               s.self_check_report, s.path);
  }
  if (status == 0) {
    error->all(FLERR,
               "pair_style hermnet: the model's embedded self-check frame gives different "
               "results through the C++ path than at export, so this model file or this build "
               "cannot be trusted: {}. Re-export the model with the installed hermnet "
               "(`hermnet export`), check it with `hermnet info {}`, or pass `check no` at your "
               "own risk",
               s.self_check_report, s.path);
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
    const double needed = s.model->metadata().receptive_field + neighbor->skin;
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
      update->unit_style, energy_unit_factor(),
      s.check ? "\nHermNet: " + s.self_check_report : "\nHermNet: self-check skipped");
}
