// Periodic radius graph for standalone use (Python bindings, tests, tools): every ordered
// pair (i, j, image) with |r_j - r_i + shift| < cutoff, never i == j with zero shift.
// Linear in the atom count (cell lists), any triclinic cell, mixed periodicity and cells
// thinner than the cutoff. Same edge set and order as hermnet.data.build_graph: sorted by
// (i, j, integer cell shift).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hermnet {

struct NeighborList {
  std::vector<int64_t> centers;      // E, row 0 of edge_index
  std::vector<int64_t> neighbors;    // E, row 1 of edge_index
  std::vector<int32_t> cell_shifts;  // E * 3, integer multiples of the cell vectors
  std::vector<double> shifts;        // E * 3, Å: cell_shifts @ cell
  size_t size() const { return centers.size(); }
};

// positions: n * 3 (need not be wrapped); cell: rows are cell vectors; only the periodic
// vectors are used (a non-periodic one may be zero). Throws hermnet::Error on bad input.
NeighborList build_neighbor_list(const double* positions, size_t n,
                                 const std::array<double, 9>& cell, const std::array<bool, 3>& pbc,
                                 double cutoff);

}  // namespace hermnet
