// CPU loops of hermnet::moment_message (moment_ops.cpp): the rank-2 neighbor moments of
// the painn2 and painn2v blocks (hermnet/nn/painn2.py),
//
//     Q[c, m, f] = sum over c's edges e of Y2_m(u_e) phi[p_e, f] filt_e[f],
//     filt_e = basis[e] W[rel_e]  (the radial filter, K = radial basis + 1 wide),
//
// in one pass over the edges. The operator chain writes [E, F] filters, gathered rows and
// products, and a padded [atoms, degree, F] copy, and its backward adds them back with
// index_add, which loops over the edges on one thread; here an edge's rows stay in cache
// and the filter is recomputed from W in the backward instead of being stored.
// Compiled for three x86-64 levels and run at the vector width of the CPU, as the filter
// kernels (filter_kernels.hpp), whose register-held filter sums and edge runs it shares.
#pragma once

#include <cstdint>

#include "filter_kernels.hpp"  // filter_rows, basis_grad_rows, run_widest

namespace hermnet::kernels {

// The five real l = 2 harmonics of a unit vector, normalised so that Y2(u) . Y2(w) =
// P2(u . w) (l2_harmonics in hermnet/nn/painn2.py).
template <typename T>
inline void l2_harmonics(const T* u, T* y) {
  constexpr T s3 = T(1.7320508075688772);
  y[0] = s3 * u[0] * u[1];
  y[1] = s3 * u[1] * u[2];
  y[2] = T(1.5) * u[2] * u[2] - T(0.5);
  y[3] = s3 * u[0] * u[2];
  y[4] = T(0.5) * s3 * (u[0] * u[0] - u[1] * u[1]);
}

// gu = (dY2/du)^T gy
template <typename T>
inline void l2_harmonics_backward(const T* u, const T* gy, T* gu) {
  constexpr T s3 = T(1.7320508075688772);
  gu[0] = s3 * (u[1] * gy[0] + u[2] * gy[3] + u[0] * gy[4]);
  gu[1] = s3 * (u[0] * gy[0] + u[2] * gy[1] - u[1] * gy[4]);
  gu[2] = s3 * (u[1] * gy[1] + u[0] * gy[3]) + T(3) * u[2] * gy[2];
}

// out[center[e], m, :] += Y2_m(unit[e]) phi[p[e], :] filt_e for the edges [0, edges), the
// filters of a run of edges of one relation built together (filter_rows, sums in registers).
// phi: [*, F]; basis: [E, K]; W: [R, K, F]; out: [*, 5, F]; scratch: kEdgeGroup rows of F.
template <int B, typename T>
inline __attribute__((always_inline)) void moment_message_forward_body(
    const T* phi, const int64_t* p, const T* basis, int64_t K, const int64_t* rel, const T* W,
    const T* unit, const int64_t* center, int64_t edges, int64_t F, T* out, T* scratch) {
  const T* bs[kEdgeGroup];
  T* rows[kEdgeGroup];
  for (int64_t e0 = 0; e0 < edges;) {
    const int64_t n = same_relation_run(rel, e0, edges);
    const T* w = W + rel[e0] * K * F;
    for (int64_t i = 0; i < n; ++i) rows[i] = scratch + i * F;
    run_filters<B, 1>(basis, K, w, F, int64_t{0}, F, e0, n, bs, rows);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t e = e0 + i;
      const T* ph = phi + p[e] * F;
      const T* filt = rows[i];
      T y[5];
      l2_harmonics(unit + e * 3, y);
      T* q = out + center[e] * 5 * F;
#pragma omp simd
      for (int64_t f = 0; f < F; ++f) {
        const T a = ph[f] * filt[f];
        q[f] += y[0] * a;
        q[F + f] += y[1] * a;
        q[2 * F + f] += y[2] * a;
        q[3 * F + f] += y[3] * a;
        q[4 * F + f] += y[4] * a;
      }
    }
    e0 += n;
  }
}

// The reverse for the output gradient g [*, 5, F]: with a = phi[p] filt and
// ga = sum_m Y2_m g[c, m],
//   gphi[p[e]] += ga filt;   gbasis[e, k] = sum_f ga phi[p] W[rel, k]  (from Wt [R, F, Kp]);
//   gW[rel, k] += basis[e, k] ga phi[p]  (when gW is not null);
//   gunit[e] = (dY2/du)^T (sum_f g[c, m] a).
// scratch: 2 kEdgeGroup rows of F (the filters, then the filters' gradients).
template <int B, typename T>
inline __attribute__((always_inline)) void moment_message_backward_body(
    const T* g, const T* phi, const int64_t* p, const T* basis, int64_t K, const int64_t* rel,
    const T* W, const T* Wt, int64_t Kp, const T* unit, const int64_t* center, int64_t edges,
    int64_t F, T* gphi, T* gbasis, T* gW, T* gunit, T* scratch) {
  const T* bs[kEdgeGroup];
  T* fl_rows[kEdgeGroup];
  const T* gf_rows[kEdgeGroup];
  T* gb_rows[kEdgeGroup];
  for (int64_t e0 = 0; e0 < edges;) {
    const int64_t n = same_relation_run(rel, e0, edges);
    const T* w = W + rel[e0] * K * F;
    for (int64_t i = 0; i < n; ++i) fl_rows[i] = scratch + (kEdgeGroup + i) * F;
    run_filters<B, 1>(basis, K, w, F, int64_t{0}, F, e0, n, bs, fl_rows);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t e = e0 + i;
      const T* filt = fl_rows[i];
      const T* ph = phi + p[e] * F;
      const T* gc = g + center[e] * 5 * F;
      T y[5];
      l2_harmonics(unit + e * 3, y);
      T* gfl = scratch + i * F;  // this edge's filter gradient
      T* gp = gphi + p[e] * F;
      // One pass over the edge's rows: the five sums of gy and the rows gphi and gfl.
      T s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3, s4)
      for (int64_t f = 0; f < F; ++f) {
        const T a = ph[f] * filt[f];
        const T g0 = gc[f], g1 = gc[F + f], g2 = gc[2 * F + f], g3 = gc[3 * F + f],
                g4 = gc[4 * F + f];
        s0 += g0 * a;
        s1 += g1 * a;
        s2 += g2 * a;
        s3 += g3 * a;
        s4 += g4 * a;
        const T ga = y[0] * g0 + y[1] * g1 + y[2] * g2 + y[3] * g3 + y[4] * g4;
        gp[f] += ga * filt[f];
        gfl[f] = ga * ph[f];
      }
      const T gy[5] = {s0, s1, s2, s3, s4};
      l2_harmonics_backward(unit + e * 3, gy, gunit + e * 3);
      gf_rows[i] = gfl;
      gb_rows[i] = gbasis + e * K;
    }
    const T* wt = Wt + rel[e0] * F * Kp;
    if (n == kEdgeGroup) {
      basis_grad_rows<T, kEdgeGroup, 1, B, 1>(gf_rows, 0, F, wt, F, K, Kp, gb_rows);
    } else {
      for (int64_t i = 0; i < n; ++i)
        basis_grad_rows<T, 1, 4, B, 1>(gf_rows + i, 0, F, wt, F, K, Kp, gb_rows + i);
    }
    if (gW != nullptr) {
      T* gw = gW + rel[e0] * K * F;
      for (int64_t i = 0; i < n; ++i) {
        const T* b = bs[i];
        const T* gfl = gf_rows[i];
        for (int64_t k = 0; k < K; ++k) {
          const T bk = b[k];
          T* gwk = gw + k * F;
#pragma omp simd
          for (int64_t f = 0; f < F; ++f) gwk[f] += bk * gfl[f];
        }
      }
    }
    e0 += n;
  }
}

template <int B>
struct MomentForward {
  template <typename... A>
  static inline __attribute__((always_inline)) void run(A... a) {
    moment_message_forward_body<B>(a...);
  }
};
template <int B>
struct MomentBackward {
  template <typename... A>
  static inline __attribute__((always_inline)) void run(A... a) {
    moment_message_backward_body<B>(a...);
  }
};

// The bodies at the vector width of this CPU (run_widest, filter_kernels.hpp).
template <typename... A>
void moment_message_forward(A... a) {
  run_widest<MomentForward>(a...);
}
template <typename... A>
void moment_message_backward(A... a) {
  run_widest<MomentBackward>(a...);
}

}  // namespace hermnet::kernels
