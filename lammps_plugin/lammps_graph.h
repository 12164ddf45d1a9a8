// The one class that knows both LAMMPS' data (atoms, full neighbor list) and the core's input
// format (hermnet::Inputs): it builds the model's graph and says where each model atom lives
// in LAMMPS' arrays, so results can be added back.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "hermnet/model.hpp"

namespace LAMMPS_NS {
class Atom;
class NeighList;
}  // namespace LAMMPS_NS

namespace hermnet_lammps {

// How ghost atoms enter the model.
//   Remap: one rank. Every ghost is a periodic image of a local atom; edges to a ghost point
//     to its owner (found by atom ID) with shift x_ghost - x_owner, so only local atoms are
//     model atoms and the ghost shell need only be one cutoff deep.
//   Exchange: any number of ranks. Model atoms are the local atoms, then the atoms of other
//     ranks that their edges reach (one row per atom ID; further images, and images of local
//     atoms, are reached through shifted edges as in Remap). Edges come only from local
//     centers. Ghost rows are refreshed from their owners after every hop (LammpsExchange),
//     so the ghost shell is one cutoff (plus skin) deep, and one rank computes what Remap
//     does. Without atom IDs every ghost within the cutoff is its own row.
//   Explicit ("deep"): the reference for several ranks. Local and ghost atoms are all model
//     atoms (local first), edges have zero shifts, edges of ghosts come from a REQ_GHOST
//     list, and the ghost shell must be as deep as the receptive field.
// In Exchange and Explicit mode forces on ghosts go home by LAMMPS' reverse communication.
enum class GhostMode { Remap, Exchange, Explicit };

class LammpsGraph {
 public:
  // model_type[t]: model type of LAMMPS type t (1-based; index 0 unused), -1 for NULL types,
  // whose atoms are left out (they belong to another sub-style of a hybrid pair style).
  // Throws hermnet::Error when a ghost has no local owner in Remap mode.
  void build(const LAMMPS_NS::Atom& atom, const LAMMPS_NS::NeighList& list,
             const std::vector<int64_t>& model_type, double cutoff, GhostMode mode);

  // Borrows this object's buffers: valid until the next build().
  hermnet::Inputs inputs() const;

  int64_t n_local() const { return n_local_; }
  int64_t n_all() const { return static_cast<int64_t>(lammps_index_.size()); }
  size_t n_edges() const { return centers_.size(); }
  // LAMMPS index (local or ghost) of each model atom.
  const std::vector<int>& lammps_index() const { return lammps_index_; }

  // One line per edge with a local center: "ID_center ID_neighbor dx dy dz", d being the
  // edge vector the model sees (for comparing with hermnet.data.build_graph).
  void write_edges(const LAMMPS_NS::Atom& atom, const std::string& path) const;

 private:
  void add_atom(const LAMMPS_NS::Atom& atom, int i, int64_t type);
  // The LAMMPS index whose row stands for ghost j: its local owner, else the first image
  // of another rank's atom (j itself if it is the first). Throws in Remap if j has no owner.
  int representative(const LAMMPS_NS::Atom& atom, int j, const std::vector<int64_t>& model_type,
                     GhostMode mode);

  int64_t n_local_ = 0;
  std::vector<int> lammps_index_;  // model atom -> LAMMPS index
  std::vector<int> model_index_;   // LAMMPS index -> model atom, -1 if not in the model
  std::vector<double> positions_;
  std::vector<int64_t> types_;
  std::vector<int64_t> centers_;
  std::vector<int64_t> neighbors_;
  std::vector<double> shifts_;
  std::unordered_map<int64_t, int> local_of_tag_;       // atom ID -> local index
  std::unordered_map<int64_t, int> row_of_remote_tag_;  // Exchange: ID -> first ghost image
};

}  // namespace hermnet_lammps
