// The embedded self-check, C++ twin of hermnet/export/selfcheck.py: same tolerances (stored
// in the file), same comparison rule, a report that names what differs.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "hermnet/model.hpp"
#include "hermnet/neighbor_list.hpp"

namespace hermnet {
namespace {

std::string format(double x) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.17g", x);
  return buffer;
}

std::string short_format(double x) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.3g", x);
  return buffer;
}

// |got - ref| <= atol + rtol |ref| elementwise; returns the max |difference| and appends a
// problem naming the worst element when the rule fails (NaN fails).
double compare(const char* name, const char* unit, const std::vector<double>& got,
               const std::vector<double>& ref, double rtol, double atol,
               std::vector<std::string>& problems) {
  if (got.size() != ref.size()) {
    problems.push_back(std::string(name) + " has " + std::to_string(got.size()) +
                       " values, expected " + std::to_string(ref.size()));
    return NAN;
  }
  double worst = 0.0, worst_excess = -INFINITY;
  size_t where = 0;
  for (size_t k = 0; k < got.size(); ++k) {
    const double diff = std::fabs(got[k] - ref[k]);
    const double excess = std::isnan(diff) ? INFINITY : diff - (atol + rtol * std::fabs(ref[k]));
    worst = std::isnan(diff) ? NAN : std::max(worst, diff);
    if (excess > worst_excess) {
      worst_excess = excess;
      where = k;
    }
  }
  if (worst_excess > 0) {
    problems.push_back(std::string(name) + " differs at flat index " + std::to_string(where) +
                       ": " + format(got[where]) + " vs expected " + format(ref[where]) + " " +
                       unit + " (max |difference| " + short_format(worst) + ", tolerance " +
                       short_format(atol) + " + " + short_format(rtol) + " * |expected|)");
  }
  return worst;
}

}  // namespace

SelfCheckResult Model::self_check() const {
  const SelfCheckFrame& f = metadata().self_check;
  const size_t n = f.types.size();
  const NeighborList nl =
      build_neighbor_list(f.positions.data(), n, f.cell, f.pbc, metadata().cutoff);
  Inputs in;
  in.positions = f.positions.data();
  in.types = f.types.data();
  in.n_all = static_cast<int64_t>(n);
  in.centers = nl.centers.data();
  in.neighbors = nl.neighbors.data();
  in.shifts = nl.shifts.data();
  in.n_edges = static_cast<int64_t>(nl.size());
  Request request;
  request.virial = true;
  std::vector<std::string> problems;
  std::string deviations;
  const auto check = [&](const Outputs& out, const std::string& path) {
    std::vector<std::string> found;
    const double energy_diff = std::fabs(out.energy - f.energy);
    const double energy_tol = f.energy_atol_per_atom * static_cast<double>(n);
    if (!(energy_diff <= energy_tol)) {
      found.push_back("energy is " + format(out.energy) + " eV, expected " + format(f.energy) +
                      " eV (|difference| " + short_format(energy_diff) + " > tolerance " +
                      short_format(energy_tol) + ")");
    }
    const double de =
        compare("atomic_energy", "eV", out.atomic_energy, f.atomic_energy, f.rtol, f.atol, found);
    const double df = compare("forces", "eV/Å", out.forces, f.forces, f.rtol, f.atol, found);
    const double dv =
        compare("virial", "eV", std::vector<double>(out.virial.begin(), out.virial.end()),
                std::vector<double>(f.virial.begin(), f.virial.end()), f.rtol, f.atol, found);
    for (const auto& problem : found) problems.push_back(path + ": " + problem);
    deviations += (deviations.empty() ? "" : "; ") + path + ": energy " +
                  short_format(energy_diff) + ", atomic_energy " + short_format(de) + ", forces " +
                  short_format(df) + ", virial " + short_format(dv);
  };
  check(compute(in, request), "whole graph");
  if (has_hop_interface()) {
    // The frame has no ghosts (periodic images are edge shifts): the exchange is the identity.
    std::vector<int64_t> self(n);
    for (size_t i = 0; i < n; ++i) self[i] = static_cast<int64_t>(i);
    OwnerExchange none(self, static_cast<int64_t>(n));
    check(compute_exchanged(in, none, request), "hop by hop");
  }

  SelfCheckResult result;
  result.passed = problems.empty();
  std::ostringstream report;
  if (result.passed) {
    report << "self-check passed on " << n << " atoms, " << nl.size()
           << " edges (max |deviation|: " << deviations << ")";
  } else {
    report << "self-check FAILED: ";
    for (size_t k = 0; k < problems.size(); ++k) report << (k ? "; " : "") << problems[k];
  }
  result.report = report.str();
  return result;
}

}  // namespace hermnet
