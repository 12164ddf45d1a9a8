// Cell-list radius graph. Strategy: wrap atoms into the cell along periodic directions,
// add the periodic images that lie within the cutoff of the cell (ghosts), bin everything
// on a Cartesian grid with bins no smaller than the cutoff, and test each local atom
// against the 27 surrounding bins. The final distance test uses the same arithmetic as
// hermnet.data.build_graph, (r_j - r_i) + shift, so both give the same edge set.
#include "hermnet/neighbor_list.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "hermnet/error.hpp"

namespace hermnet {
namespace {

using Vec3 = std::array<double, 3>;
using Mat3 = std::array<Vec3, 3>;  // rows

Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
double norm(const Vec3& a) { return std::sqrt(dot(a, a)); }

// Replace non-periodic cell vectors by unit vectors orthogonal to the periodic ones, so the
// basis is invertible and fractional coordinates along periodic vectors do not depend on the
// (arbitrary, possibly zero) non-periodic vectors.
Mat3 effective_cell(const Mat3& cell, const std::array<bool, 3>& pbc) {
  Mat3 basis = cell;
  std::vector<int> periodic, open;
  for (int k = 0; k < 3; ++k) (pbc[k] ? periodic : open).push_back(k);
  if (periodic.size() == 2) {
    Vec3 n = cross(cell[periodic[0]], cell[periodic[1]]);
    const double len = norm(n);
    basis[open[0]] = {n[0] / len, n[1] / len, n[2] / len};
  } else if (periodic.size() == 1) {
    const Vec3& a = cell[periodic[0]];
    const double len = norm(a);
    const Vec3 u = {a[0] / len, a[1] / len, a[2] / len};
    const Vec3 trial = std::fabs(u[0]) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
    Vec3 v = cross(u, trial);
    const double lv = norm(v);
    v = {v[0] / lv, v[1] / lv, v[2] / lv};
    basis[open[0]] = v;
    basis[open[1]] = cross(u, v);
  } else if (periodic.empty()) {
    basis = {Vec3{1, 0, 0}, Vec3{0, 1, 0}, Vec3{0, 0, 1}};
  }
  return basis;
}

// Columns of the inverse: fractional f_k = dot(x, inv[k]).
Mat3 reciprocal(const Mat3& m) {
  const Vec3 c0 = cross(m[1], m[2]), c1 = cross(m[2], m[0]), c2 = cross(m[0], m[1]);
  const double det = dot(m[0], c0);
  return {Vec3{c0[0] / det, c0[1] / det, c0[2] / det}, Vec3{c1[0] / det, c1[1] / det, c1[2] / det},
          Vec3{c2[0] / det, c2[1] / det, c2[2] / det}};
}

struct Point {  // an atom or one of its periodic images
  Vec3 x;
  int64_t atom;
  std::array<int32_t, 3> image;  // cell shift relative to the atom's unwrapped position
};

void check_inputs(const double* positions, size_t n, const Mat3& cell,
                  const std::array<bool, 3>& pbc, double cutoff) {
  if (!(cutoff > 0) || !std::isfinite(cutoff)) {
    throw Error("neighbor list: cutoff must be a positive number of Å, got " +
                std::to_string(cutoff));
  }
  for (size_t i = 0; i < 3 * n; ++i) {
    if (!std::isfinite(positions[i])) throw Error("neighbor list: positions contain NaN or inf");
  }
  std::vector<Vec3> periodic;
  for (int k = 0; k < 3; ++k) {
    for (double x : cell[k]) {
      if (!std::isfinite(x)) throw Error("neighbor list: the cell contains NaN or inf");
    }
    if (pbc[k]) periodic.push_back(cell[k]);
  }
  double measure = 1.0;  // length, area or volume spanned by the periodic vectors
  if (periodic.size() == 1) measure = norm(periodic[0]);
  if (periodic.size() == 2) measure = norm(cross(periodic[0], periodic[1]));
  if (periodic.size() == 3) measure = std::fabs(dot(periodic[0], cross(periodic[1], periodic[2])));
  if (!(measure > 1e-8)) {
    throw Error(
        "neighbor list: the periodic cell vectors are zero or linearly dependent; give "
        "the real cell or set pbc to false in those directions");
  }
}

}  // namespace

NeighborList build_neighbor_list(const double* positions, size_t n,
                                 const std::array<double, 9>& cell_flat,
                                 const std::array<bool, 3>& pbc, double cutoff) {
  Mat3 cell;
  for (int k = 0; k < 3; ++k)
    cell[k] = {cell_flat[3 * k], cell_flat[3 * k + 1], cell_flat[3 * k + 2]};
  check_inputs(positions, n, cell, pbc, cutoff);
  NeighborList out;
  if (n == 0) return out;

  const Mat3 basis = effective_cell(cell, pbc);
  const Mat3 inv = reciprocal(basis);
  // A small margin so that rounding in wrapping and binning never loses a candidate; the
  // exact test below decides.
  const double reach = cutoff * (1.0 + 1e-9) + 1e-9;

  // Wrap along periodic directions; remember the shift that was applied.
  std::vector<Point> points;
  points.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Point p{{positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]},
            static_cast<int64_t>(i),
            {0, 0, 0}};
    for (int k = 0; k < 3; ++k) {
      if (!pbc[k]) continue;
      const int32_t w = static_cast<int32_t>(std::floor(dot(p.x, inv[k])));
      p.image[k] = -w;
      for (int c = 0; c < 3; ++c) p.x[c] -= w * basis[k][c];
    }
    points.push_back(p);
  }

  // Ghosts: images whose fractional coordinate lies within `reach` of [0, 1) along each
  // periodic direction (plane spacing of direction k is 1 / |inv[k]|).
  std::array<int32_t, 3> images{0, 0, 0};
  std::array<double, 3> margin{0, 0, 0};
  for (int k = 0; k < 3; ++k) {
    if (!pbc[k]) continue;
    margin[k] = reach * norm(inv[k]);
    images[k] = static_cast<int32_t>(std::ceil(margin[k])) + 1;
  }
  for (size_t i = 0; i < n; ++i) {
    const Point base = points[i];
    Vec3 frac;
    for (int k = 0; k < 3; ++k) frac[k] = dot(base.x, inv[k]);
    for (int32_t a = -images[0]; a <= images[0]; ++a) {
      for (int32_t b = -images[1]; b <= images[1]; ++b) {
        for (int32_t c = -images[2]; c <= images[2]; ++c) {
          if (a == 0 && b == 0 && c == 0) continue;
          const std::array<int32_t, 3> s{a, b, c};
          bool inside = true;
          for (int k = 0; k < 3 && inside; ++k) {
            if (!pbc[k]) continue;
            const double f = frac[k] + s[k];
            inside = f >= -margin[k] && f < 1.0 + margin[k];
          }
          if (!inside) continue;
          Point g = base;
          for (int k = 0; k < 3; ++k) {
            g.image[k] += s[k];
            for (int d = 0; d < 3; ++d) g.x[d] += s[k] * basis[k][d];
          }
          points.push_back(g);
        }
      }
    }
  }

  // Cartesian bins of side >= reach over the bounding box of all points; the bin count is
  // capped near the point count so a sparse system cannot allocate a huge grid.
  Vec3 lo = points[0].x, hi = points[0].x;
  for (const Point& p : points) {
    for (int d = 0; d < 3; ++d) {
      lo[d] = std::min(lo[d], p.x[d]);
      hi[d] = std::max(hi[d], p.x[d]);
    }
  }
  double side = reach;
  std::array<int64_t, 3> bins{};
  while (true) {
    for (int d = 0; d < 3; ++d) {
      bins[d] = std::max<int64_t>(1, static_cast<int64_t>((hi[d] - lo[d]) / side));
    }
    if (bins[0] * bins[1] * bins[2] <= 8 * static_cast<int64_t>(points.size()) + 27) break;
    side *= 1.5;
  }
  auto bin_of = [&](const Vec3& x, int d) {
    const auto b = static_cast<int64_t>((x[d] - lo[d]) / (hi[d] - lo[d] + 1e-300) * bins[d]);
    return std::clamp<int64_t>(b, 0, bins[d] - 1);
  };
  const int64_t n_bins = bins[0] * bins[1] * bins[2];
  std::vector<int64_t> start(n_bins + 1, 0), bin_index(points.size());
  for (size_t p = 0; p < points.size(); ++p) {
    const Vec3& x = points[p].x;
    bin_index[p] = (bin_of(x, 0) * bins[1] + bin_of(x, 1)) * bins[2] + bin_of(x, 2);
    ++start[bin_index[p] + 1];
  }
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<int64_t> members(points.size());
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (size_t p = 0; p < points.size(); ++p)
      members[fill[bin_index[p]]++] = static_cast<int64_t>(p);
  }

  const double cutoff2 = cutoff * cutoff;
  struct Edge {
    int64_t i, j;
    std::array<int32_t, 3> s;
    Vec3 shift;
  };
  std::vector<Edge> edges;
  for (size_t i = 0; i < n; ++i) {
    const Point& pi = points[i];
    const int64_t bx = bin_of(pi.x, 0), by = bin_of(pi.x, 1), bz = bin_of(pi.x, 2);
    for (int64_t x = std::max<int64_t>(0, bx - 1); x <= std::min(bins[0] - 1, bx + 1); ++x) {
      for (int64_t y = std::max<int64_t>(0, by - 1); y <= std::min(bins[1] - 1, by + 1); ++y) {
        for (int64_t z = std::max<int64_t>(0, bz - 1); z <= std::min(bins[2] - 1, bz + 1); ++z) {
          const int64_t b = (x * bins[1] + y) * bins[2] + z;
          for (int64_t m = start[b]; m < start[b + 1]; ++m) {
            const Point& pj = points[members[m]];
            std::array<int32_t, 3> s;
            for (int k = 0; k < 3; ++k) s[k] = pj.image[k] - pi.image[k];
            if (pj.atom == pi.atom && s[0] == 0 && s[1] == 0 && s[2] == 0) continue;
            // The contract's arithmetic: shift = S @ cell, d = (r_j - r_i) + shift.
            Vec3 shift{0, 0, 0}, d;
            for (int c = 0; c < 3; ++c) {
              for (int k = 0; k < 3; ++k) {
                if (pbc[k]) shift[c] += s[k] * cell[k][c];
              }
              d[c] = (positions[3 * pj.atom + c] - positions[3 * i + c]) + shift[c];
            }
            if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < cutoff2) {
              edges.push_back({static_cast<int64_t>(i), pj.atom, s, shift});
            }
          }
        }
      }
    }
  }

  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) {
    if (a.i != b.i) return a.i < b.i;
    if (a.j != b.j) return a.j < b.j;
    return a.s < b.s;
  });
  const size_t e = edges.size();
  out.centers.resize(e);
  out.neighbors.resize(e);
  out.cell_shifts.resize(3 * e);
  out.shifts.resize(3 * e);
  for (size_t k = 0; k < e; ++k) {
    out.centers[k] = edges[k].i;
    out.neighbors[k] = edges[k].j;
    for (int c = 0; c < 3; ++c) {
      out.cell_shifts[3 * k + c] = edges[k].s[c];
      out.shifts[3 * k + c] = edges[k].shift[c];
    }
  }
  return out;
}

}  // namespace hermnet
