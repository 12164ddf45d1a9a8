// CPU loops of hermnet::filter_message (fused_ops.cpp): the message hop with each edge's
// radial filter (its basis row times its relation's weights) computed inside the edge loop,
// forward and backward. The per-edge message itself is edge_kernels.hpp's.
//
// The filter is the model's largest matrix product, but its inner dimension is the basis
// (31 wide): as a batched product it ran at a quarter of the CPU's matmul rate, and its
// [edges, 3F] result went through memory twice more. Here the sums are kept in registers
// (GCC vector extensions) and runs of edges of one relation share every weight load.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "edge_kernels.hpp"

namespace hermnet::kernels {

// B-byte vectors (GCC vector extensions): B / sizeof(T) lanes, one register of the target the
// kernel is compiled for (filter_dispatch below: 64 bytes for AVX-512, 32 for AVX2, 16 for the
// baseline). The filter loops keep several of them as independent sums in registers; written
// as plain loops, the compiler kept the sums in memory and each step waited on the previous
// one. A vector wider than the target's registers is split by the compiler into a chain of
// stack spills: 64-byte vectors on an AVX2 CPU ran 16x slower than the batched product.
template <typename T, int B>
struct Lanes {
  typedef T Vec __attribute__((vector_size(B)));
  static constexpr int64_t count = B / sizeof(T);
  static Vec load(const T* p) {
    Vec x;
    std::memcpy(&x, p, sizeof x);
    return x;
  }
  static void store(T* p, const Vec& x) { std::memcpy(p, &x, sizeof x); }
};

// Filter rows of NE edges of one relation: fl[i][c F + f] = sum_k b[i][k] w[k, c F + f] for
// f in [f0, f1) and the C chunks c (3 for the message's [a_v | a_s | a_r], 1 for the moment's
// a_q). Each weight vector loaded is used by all NE edges (the weights of a relation, 47 kB
// in float32 at F = 128, come from L2, and loading them was the limit); NT tiles of lanes
// per step give C NE NT independent sums in registers.
template <typename T, int NE, int NT, int B, int C = 3>
inline __attribute__((always_inline)) void filter_rows(const T* const* b, int64_t K, const T* w,
                                                       int64_t F, int64_t f0, int64_t f1,
                                                       T* const* fl) {
  using L = Lanes<T, B>;
  int64_t f = f0;
  for (; f + NT * L::count <= f1; f += NT * L::count) {
    typename L::Vec acc[NE][C * NT] = {};
    for (int64_t k = 0; k < K; ++k) {
      const T* wk = w + k * C * F + f;
      typename L::Vec wv[C * NT];
      for (int c = 0; c < C; ++c)
        for (int t = 0; t < NT; ++t) wv[c * NT + t] = L::load(wk + c * F + t * L::count);
      for (int i = 0; i < NE; ++i) {
        const T bk = b[i][k];
        for (int j = 0; j < C * NT; ++j) acc[i][j] += bk * wv[j];
      }
    }
    for (int i = 0; i < NE; ++i)
      for (int c = 0; c < C; ++c)
        for (int t = 0; t < NT; ++t) L::store(fl[i] + c * F + f + t * L::count, acc[i][c * NT + t]);
  }
  for (; f < f1; ++f) {  // the block's last few features
    for (int i = 0; i < NE; ++i) {
      T acc[C] = {};
      for (int64_t k = 0; k < K; ++k)
        for (int c = 0; c < C; ++c) acc[c] += b[i][k] * w[k * C * F + c * F + f];
      for (int c = 0; c < C; ++c) fl[i][c * F + f] = acc[c];
    }
  }
}

// gbasis rows of NE edges of one relation: out[i][k] = sum_{c, f} g[i][c F + f]
// Wt[c F + f, k] for f in [f0, f1), the C chunks c and k < K, with Wt [C F, Kp] (the k axis
// is the vector axis; g[i] are rows of C F). Each Wt vector loaded serves all NE edges; U
// unrolled steps give NE U independent sums.
template <typename T, int NE, int U, int B, int C = 3>
inline __attribute__((always_inline)) void basis_grad_rows(const T* const* g, int64_t f0,
                                                           int64_t f1, const T* wt, int64_t F,
                                                           int64_t K, int64_t Kp, T* const* out) {
  const int64_t width = f1 - f0;
  using L = Lanes<T, B>;
  for (int64_t kb = 0; kb < Kp; kb += L::count) {
    typename L::Vec acc[NE][U] = {};
    for (int64_t c = 0; c < C; ++c) {
      const T* wc = wt + (c * F + f0) * Kp + kb;
      const int64_t gc = c * F + f0;
      int64_t j = 0;
      for (; j + U <= width; j += U)
        for (int u = 0; u < U; ++u) {
          const typename L::Vec wv = L::load(wc + (j + u) * Kp);
          for (int i = 0; i < NE; ++i) acc[i][u] += g[i][gc + j + u] * wv;
        }
      for (; j < width; ++j) {
        const typename L::Vec wv = L::load(wc + j * Kp);
        for (int i = 0; i < NE; ++i) acc[i][0] += g[i][gc + j] * wv;
      }
    }
    for (int i = 0; i < NE; ++i) {
      for (int u = 1; u < U; ++u) acc[i][0] += acc[i][u];
      T sum[L::count];
      L::store(sum, acc[i][0]);
      for (int64_t t = 0; t < L::count && kb + t < K; ++t) out[i][kb + t] = sum[t];
    }
  }
}

// Consecutive edges of one relation handled together by the filter kernels (the edges of a
// center are consecutive, and in the vertex and pair variants mostly share its relation).
constexpr int kEdgeGroup = 4;

// Length of the run of edges from e on that share rel[e], at most kEdgeGroup.
inline int64_t same_relation_run(const int64_t* rel, int64_t e, int64_t edges) {
  int64_t n = 1;
  while (n < kEdgeGroup && e + n < edges && rel[e + n] == rel[e]) ++n;
  return n;
}

// The filters of the n edges from e0, one relation's run (weights w), into rows[i] (and
// their basis rows into bs[i]). A whole group shares every weight load; a shorter run takes
// one tile per step too: an edge's filter must not depend on how a thread's range groups
// the edges (two tiles move features between the vector loop and the scalar tail, which
// round differently, and two threads would then differ).
template <int B, int C, typename T>
inline __attribute__((always_inline)) void run_filters(const T* basis, int64_t K, const T* w,
                                                       int64_t F, int64_t f0, int64_t f1,
                                                       int64_t e0, int64_t n, const T** bs,
                                                       T* const* rows) {
  for (int64_t i = 0; i < n; ++i) bs[i] = basis + (e0 + i) * K;
  if (n == kEdgeGroup) {
    filter_rows<T, kEdgeGroup, 1, B, C>(bs, K, w, F, f0, f1, rows);
  } else {
    for (int64_t i = 0; i < n; ++i) filter_rows<T, 1, 1, B, C>(bs + i, K, w, F, f0, f1, rows + i);
  }
}

// The message hop with the radial filter computed inside the loop, for relations with one
// instance per edge. The filter of edge e is the product of its basis row b[e] (K values:
// f_c e_n(r) and f_c) with its relation's weights W[rel[e]] ([K, 3F]):
//   fl = b[e] W[rel[e]];  m = phi[p[e]] * fl = [a_v | a_s | a_r]
//   out_v[c[e], d] += v[n[e], d] * a_v + unit[e, d] * a_r;    out_s[c[e]] += a_s
// fl is built in `scratch` (kEdgeGroup rows of 3F) and never stored: the backward builds it
// again. Runs of edges of one relation share each weight load.
template <int B, typename T>
inline __attribute__((always_inline)) void filter_message_forward_body(
    const T* phi, const int64_t* p, const T* basis, int64_t K, const int64_t* rel, const T* W,
    const T* v, const T* unit, const int64_t* center, const int64_t* neighbor, int64_t edges,
    int64_t F, int64_t f0, int64_t f1, T* out_v, T* out_s, T* scratch) {
  const T* bs[kEdgeGroup];
  T* rows[kEdgeGroup];
  for (int64_t e0 = 0; e0 < edges;) {
    const int64_t n = same_relation_run(rel, e0, edges);
    const T* w = W + rel[e0] * K * 3 * F;
    for (int64_t i = 0; i < n; ++i) rows[i] = scratch + i * 3 * F;
    run_filters<B, 3>(basis, K, w, F, f0, f1, e0, n, bs, rows);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t e = e0 + i;
      message_edge_forward<T>(phi + p[e] * 3 * F, rows[i], v + neighbor[e] * 3 * F, unit + e * 3, F,
                              f0, f1, out_v + center[e] * 3 * F, out_s + center[e] * F);
    }
    e0 += n;
  }
}

// Its reverse for the output gradients gv [*, 3, F] and gs [*, F]. Each edge's filter is
// computed again from W, as the forward did: storing the forward's [E, 3F] filters cost a
// write and a read of 576 MB per hop at 16k atoms (F = 64), memory traffic that ranks on
// one node share, where recomputing costs K x 3F multiply-adds per edge from registers.
//   gm = [sum_d gv[c, d] v[n, d] | gs[c] | sum_d gv[c, d] unit[e, d]];  gfl = gm * phi[p[e]]
//   gphi[p[e]] += gm * fl;  gv_in[n[e], d] += gv[c, d] a_v
//   gbasis[e, k] = sum_{f in block} gfl[f] W[rel[e], k, f]            (this block's share)
//     (from Wt = W transposed to [R, 3F, Kp], zero-padded to Kp = whole 64-byte vectors)
//   gW[rel[e], k, f] += b[e, k] gfl[f]                            (when gW is not null)
//   partial[e, d] = sum_{f in block} gv[c, d, f] a_r[f]
// The filters and gfl live in `scratch` (2 kEdgeGroup rows of 3F) between the passes over a
// run of edges of one relation, which share each W and Wt load.
template <int B, typename T>
inline __attribute__((always_inline)) void filter_message_backward_body(
    const T* gv, const T* gs, const T* phi, const int64_t* p, const T* basis, int64_t K,
    const int64_t* rel, const T* W, const T* Wt, int64_t Kp, const T* v, const T* unit,
    const int64_t* center, const int64_t* neighbor, int64_t edges, int64_t F, int64_t f0,
    int64_t f1, T* gphi, T* gbasis, T* gW, T* gv_in, T* partial, T* scratch) {
  const T* bs[kEdgeGroup];
  T* fl_rows[kEdgeGroup];
  const T* gs_rows[kEdgeGroup];
  T* gb_rows[kEdgeGroup];
  for (int64_t e0 = 0; e0 < edges;) {
    const int64_t n = same_relation_run(rel, e0, edges);
    const T* w = W + rel[e0] * K * 3 * F;
    for (int64_t i = 0; i < n; ++i) fl_rows[i] = scratch + (kEdgeGroup + i) * 3 * F;
    run_filters<B, 3>(basis, K, w, F, f0, f1, e0, n, bs, fl_rows);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t e = e0 + i;
      T* gfl = scratch + i * 3 * F;  // this edge's filter gradient, a row of 3F
      gs_rows[i] = gfl;
      gb_rows[i] = gbasis + e * K;
      message_edge_backward<T, false>(gv + center[e] * 3 * F, gs + center[e] * F,
                                      phi + p[e] * 3 * F, fl_rows[i], v + neighbor[e] * 3 * F,
                                      unit + e * 3, F, f0, f1, gphi + p[e] * 3 * F, gfl,
                                      gv_in + neighbor[e] * 3 * F, partial + e * 3);
    }
    const T* wt = Wt + rel[e0] * 3 * F * Kp;
    if (n == kEdgeGroup) {
      basis_grad_rows<T, kEdgeGroup, 1, B>(gs_rows, f0, f1, wt, F, K, Kp, gb_rows);
    } else {
      for (int64_t i = 0; i < n; ++i)
        basis_grad_rows<T, 1, 4, B>(gs_rows + i, f0, f1, wt, F, K, Kp, gb_rows + i);
    }
    if (gW != nullptr) {
      T* gw = gW + rel[e0] * K * 3 * F;
      for (int64_t i = 0; i < n; ++i) {
        const T* b = basis + (e0 + i) * K;
        const T* gfl = gs_rows[i];
        for (int64_t k = 0; k < K; ++k) {
          const T bk = b[k];
          T* gwk = gw + k * 3 * F;
#pragma omp simd
          for (int64_t f = f0; f < f1; ++f) {
            gwk[f] += bk * gfl[f];
            gwk[F + f] += bk * gfl[F + f];
            gwk[2 * F + f] += bk * gfl[2 * F + f];
          }
        }
      }
    }
    e0 += n;
  }
}

// ---- one build, the vector width of the CPU it runs on ------------------------------------
// The bodies above are compiled once per x86-64 level with the lane width of its registers
// and the widest the CPU runs is called (target_clones cannot vary the width). Kernels padded
// to whole vectors (Kp in fused_ops.cpp) pad to 64 bytes, a multiple of every width.
#if defined(HERMNET_HAS_CLONES)
#define HERMNET_LEVEL_V4 __attribute__((target("arch=x86-64-v4")))
#define HERMNET_LEVEL_V3 __attribute__((target("arch=x86-64-v3")))
#else
#define HERMNET_LEVEL_V4
#define HERMNET_LEVEL_V3
#endif

// Vector bytes of the filter kernels on this CPU: 64 (AVX-512), 32 (AVX2 + FMA) or 16.
// HERMNET_VECTOR_BYTES=16|32 asks for a narrower path (tests compare them); read per call.
inline int filter_vector_bytes() {
#if defined(HERMNET_HAS_CLONES)
  static const int widest = __builtin_cpu_supports("x86-64-v4")   ? 64
                            : __builtin_cpu_supports("x86-64-v3") ? 32
                                                                  : 16;
#else
  static const int widest = 64;  // no multi-versioning: the compiler's own target decides
#endif
  const char* asked = std::getenv("HERMNET_VECTOR_BYTES");
  if (asked == nullptr) return widest;
  const int want = std::atoi(asked);
  return want == 16 || want == 32 || want == 64 ? std::min(want, widest) : widest;
}

template <int B>
struct FilterForward {
  template <typename... A>
  static inline __attribute__((always_inline)) void run(A... a) {
    filter_message_forward_body<B>(a...);
  }
};
template <int B>
struct FilterBackward {
  template <typename... A>
  static inline __attribute__((always_inline)) void run(A... a) {
    filter_message_backward_body<B>(a...);
  }
};

template <template <int> class Op, typename... A>
HERMNET_LEVEL_V4 void run_v4(A... a) {
  Op<64>::run(a...);
}
template <template <int> class Op, typename... A>
HERMNET_LEVEL_V3 void run_v3(A... a) {
  Op<32>::run(a...);
}
template <template <int> class Op, typename... A>
void run_baseline(A... a) {
  Op<16>::run(a...);
}
template <template <int> class Op, typename... A>
void run_widest(A... a) {
  switch (filter_vector_bytes()) {
    case 64:
      return run_v4<Op>(a...);
    case 32:
      return run_v3<Op>(a...);
    default:
      return run_baseline<Op>(a...);
  }
}

template <typename... A>
void filter_message_forward(A... a) {
  run_widest<FilterForward>(a...);
}
template <typename... A>
void filter_message_backward(A... a) {
  run_widest<FilterBackward>(a...);
}

}  // namespace hermnet::kernels
