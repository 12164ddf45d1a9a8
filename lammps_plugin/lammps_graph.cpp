#include "lammps_graph.h"

#include <cstdio>
#include <memory>

#include "atom.h"
#include "neigh_list.h"

using LAMMPS_NS::Atom;
using LAMMPS_NS::NeighList;

namespace hermnet_lammps {

void LammpsGraph::add_atom(const Atom& atom, int i, int64_t type) {
  model_index_[i] = static_cast<int>(lammps_index_.size());
  lammps_index_.push_back(i);
  positions_.insert(positions_.end(), atom.x[i], atom.x[i] + 3);
  types_.push_back(type);
}

void LammpsGraph::build(const Atom& atom, const NeighList& list,
                        const std::vector<int64_t>& model_type, double cutoff, GhostMode mode) {
  const int nlocal = atom.nlocal;
  const int nall = nlocal + atom.nghost;
  const double cutsq = cutoff * cutoff;
  double** x = atom.x;
  lammps_index_.clear();
  positions_.clear();
  types_.clear();
  centers_.clear();
  neighbors_.clear();
  shifts_.clear();
  model_index_.assign(nall, -1);

  // Model atoms: mapped local atoms first, then (Explicit) all mapped ghosts; Exchange adds
  // other ranks' ghosts below as edges reach them.
  for (int i = 0; i < nlocal; ++i) {
    if (model_type[atom.type[i]] >= 0) add_atom(atom, i, model_type[atom.type[i]]);
  }
  n_local_ = static_cast<int64_t>(lammps_index_.size());
  if (mode == GhostMode::Explicit) {
    for (int i = nlocal; i < nall; ++i) {
      if (model_type[atom.type[i]] >= 0) add_atom(atom, i, model_type[atom.type[i]]);
    }
  }
  // Remap, and Exchange with atom IDs: a ghost that is a periodic image of a local atom is
  // that atom, reached through a shifted edge, so only other ranks' atoms become ghost rows.
  const bool by_tag = mode == GhostMode::Remap || (mode == GhostMode::Exchange && atom.tag_enable);
  local_of_tag_.clear();
  row_of_remote_tag_.clear();
  if (by_tag) {
    local_of_tag_.reserve(static_cast<size_t>(nlocal));
    for (int i = 0; i < nlocal; ++i) local_of_tag_[static_cast<int64_t>(atom.tag[i])] = i;
  }

  // Centers: local atoms, or every atom the list holds, ghosts included (Explicit).
  const int n_centers = mode == GhostMode::Explicit ? list.inum + list.gnum : list.inum;
  for (int ii = 0; ii < n_centers; ++ii) {
    const int i = list.ilist[ii];
    const int center = model_index_[i];
    if (center < 0) continue;
    const int* jlist = list.firstneigh[i];
    for (int jj = 0; jj < list.numneigh[i]; ++jj) {
      const int j = jlist[jj] & NEIGHMASK;
      const double d[3] = {x[j][0] - x[i][0], x[j][1] - x[i][1], x[j][2] - x[i][2]};
      if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] >= cutsq) continue;
      int neighbor = j;
      if (j >= nlocal && mode != GhostMode::Explicit) {
        neighbor = by_tag ? representative(atom, j, model_type, mode) : j;
        if (neighbor == j && mode == GhostMode::Exchange && model_index_[j] < 0 &&
            model_type[atom.type[j]] >= 0) {
          add_atom(atom, j, model_type[atom.type[j]]);  // a ghost row, refreshed every hop
        }
      }
      if (model_index_[neighbor] < 0) continue;
      centers_.push_back(center);
      neighbors_.push_back(model_index_[neighbor]);
      for (int k = 0; k < 3; ++k) shifts_.push_back(x[j][k] - x[neighbor][k]);
    }
  }
}

int LammpsGraph::representative(const Atom& atom, int j, const std::vector<int64_t>& model_type,
                                GhostMode mode) {
  const auto tag = static_cast<int64_t>(atom.tag[j]);
  const auto local = local_of_tag_.find(tag);
  if (local != local_of_tag_.end()) return local->second;
  if (mode == GhostMode::Remap) {
    throw hermnet::Error("ghost atom with ID " + std::to_string(tag) +
                         " has no local owner on this single rank (non-periodic ghosts are not "
                         "expected); run with several MPI ranks or report this input");
  }
  // Another rank's atom: its first image seen is its row; later images (thin or small
  // domains) reach that row through shifted edges.
  if (model_type[atom.type[j]] < 0) return j;
  return row_of_remote_tag_.emplace(tag, j).first->second;
}

hermnet::Inputs LammpsGraph::inputs() const {
  hermnet::Inputs in;
  in.positions = positions_.data();
  in.types = types_.data();
  in.n_all = n_all();
  in.centers = centers_.data();
  in.neighbors = neighbors_.data();
  in.shifts = shifts_.data();
  in.n_edges = static_cast<int64_t>(centers_.size());
  in.n_local = n_local_;
  return in;
}

void LammpsGraph::write_edges(const Atom& atom, const std::string& path) const {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "w"), &std::fclose);
  if (!file) throw hermnet::Error("cannot write the edge list to " + path);
  for (size_t e = 0; e < centers_.size(); ++e) {
    if (centers_[e] >= n_local_) continue;
    const double* xi = &positions_[3 * centers_[e]];
    const double* xj = &positions_[3 * neighbors_[e]];
    const double* s = &shifts_[3 * e];
    std::fprintf(file.get(), "%lld %lld %.17g %.17g %.17g\n",
                 static_cast<long long>(atom.tag[lammps_index_[centers_[e]]]),
                 static_cast<long long>(atom.tag[lammps_index_[neighbors_[e]]]),
                 xj[0] - xi[0] + s[0], xj[1] - xi[1] + s[1], xj[2] - xi[2] + s[2]);
  }
}

}  // namespace hermnet_lammps
