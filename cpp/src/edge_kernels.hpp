// CPU loops of the fused edge operators (fused_ops.cpp): gather a neighbor's row, scale it
// by the edge's filter and accumulate it into the center's row in one pass, and the
// reverse. The unfused TorchScript writes and re-reads several [edges, 3, F] tensors for
// the same work; here each edge touches only its own rows, which stay in cache.
//
// Threads split the feature axis [f0, f1), so no two threads write the same element and
// no atomics are needed. Sums over the feature axis (the gradient of unit vectors and of
// per-edge weights) are written per block into `partial` and summed by the caller.
// `omp simd` (compiled with -fopenmp-simd: no OpenMP runtime) lets the compiler vectorise
// those sums, which strict IEEE ordering otherwise forbids; the order is still fixed for a
// given build and thread count, so results are reproducible.
//
// Each kernel is compiled three times (AVX-512, AVX2 + FMA, and the x86-64 baseline) and the
// loader picks the widest the CPU runs (GCC function multi-versioning). The build itself
// stays portable, so a library built on a cluster's login node still runs on older compute
// nodes, while the loops get the vector width of the machine they run on.
#pragma once

#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(HERMNET_NO_TARGET_CLONES)
#define HERMNET_HAS_CLONES
#define HERMNET_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HERMNET_CLONES
#endif

namespace hermnet::kernels {

// out[c[e], d, f] += v[n[e], d, f] * av[e, f] + unit[e, d] * ar[e, f]
// v, out: [*, 3, F] contiguous; av, ar: rows of F with row strides av_rs, ar_rs.
template <typename T>
HERMNET_CLONES void vector_message_forward(const T* v, const T* av, int64_t av_rs, const T* ar,
                                           int64_t ar_rs, const T* unit, const int64_t* center,
                                           const int64_t* neighbor, int64_t edges, int64_t F,
                                           int64_t f0, int64_t f1, T* out) {
  for (int64_t e = 0; e < edges; ++e) {
    T* o = out + center[e] * 3 * F;
    const T* vn = v + neighbor[e] * 3 * F;
    const T* a = av + e * av_rs;
    const T* b = ar + e * ar_rs;
    for (int64_t d = 0; d < 3; ++d) {
      const T u = unit[e * 3 + d];
      T* od = o + d * F;
      const T* vd = vn + d * F;
#pragma omp simd
      for (int64_t f = f0; f < f1; ++f) od[f] += vd[f] * a[f] + u * b[f];
    }
  }
}

// The reverse of vector_message_forward for the output gradient g [*, 3, F]:
//   gv[n[e]] += g[c[e]] * av[e];  gav[e] = sum_d g[c[e], d] v[n[e], d];
//   gar[e] = sum_d g[c[e], d] unit[e, d];  partial[e, d] = sum_{f in block} g[c[e], d, f] ar[e, f]
// gav, gar: [E, F] contiguous; partial: [E, 3] of this block.
template <typename T>
HERMNET_CLONES void vector_message_backward(const T* g, const T* v, const T* av, int64_t av_rs,
                                            const T* ar, int64_t ar_rs, const T* unit,
                                            const int64_t* center, const int64_t* neighbor,
                                            int64_t edges, int64_t F, int64_t f0, int64_t f1, T* gv,
                                            T* gav, T* gar, T* partial) {
  for (int64_t e = 0; e < edges; ++e) {
    const T* g0 = g + center[e] * 3 * F;
    const T* g1 = g0 + F;
    const T* g2 = g1 + F;
    const T* v0 = v + neighbor[e] * 3 * F;
    const T* v1 = v0 + F;
    const T* v2 = v1 + F;
    T* gv0 = gv + neighbor[e] * 3 * F;
    T* gv1 = gv0 + F;
    T* gv2 = gv1 + F;
    const T* a = av + e * av_rs;
    const T* b = ar + e * ar_rs;
    const T u0 = unit[e * 3], u1 = unit[e * 3 + 1], u2 = unit[e * 3 + 2];
    T* ga = gav + e * F;
    T* gb = gar + e * F;
    T s0 = 0, s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s0, s1, s2)
    for (int64_t f = f0; f < f1; ++f) {
      ga[f] = g0[f] * v0[f] + g1[f] * v1[f] + g2[f] * v2[f];
      gb[f] = g0[f] * u0 + g1[f] * u1 + g2[f] * u2;
      gv0[f] += g0[f] * a[f];
      gv1[f] += g1[f] * a[f];
      gv2[f] += g2[f] * a[f];
      s0 += g0[f] * b[f];
      s1 += g1[f] * b[f];
      s2 += g2[f] * b[f];
    }
    partial[e * 3] = s0;
    partial[e * 3 + 1] = s1;
    partial[e * 3 + 2] = s2;
  }
}

// One edge's message into its center, shared by edge_message and filter_message:
//   a = ph * fl = [a_v | a_s | a_r];  ov[d] += vn[d] a_v + unit[d] a_r;  os += a_s
template <typename T>
inline __attribute__((always_inline)) void message_edge_forward(const T* ph, const T* fl,
                                                                const T* vn, const T* unit,
                                                                int64_t F, int64_t f0, int64_t f1,
                                                                T* ov, T* os) {
  const T u0 = unit[0], u1 = unit[1], u2 = unit[2];
#pragma omp simd
  for (int64_t f = f0; f < f1; ++f) {
    const T av = ph[f] * fl[f], as = ph[F + f] * fl[F + f], ar = ph[2 * F + f] * fl[2 * F + f];
    ov[f] += vn[f] * av + u0 * ar;
    ov[F + f] += vn[F + f] * av + u1 * ar;
    ov[2 * F + f] += vn[2 * F + f] * av + u2 * ar;
    os[f] += as;
  }
}

// The whole message of an edge, for relations with one instance per edge:
//   m = phi[p[e]] * filt[q[e]] = [a_v | a_s | a_r]            (rows of 3F)
//   out_v[c[e], d] += v[n[e], d] * a_v + unit[e, d] * a_r;    out_s[c[e]] += a_s
template <typename T>
HERMNET_CLONES void edge_message_forward(const T* phi, const int64_t* p, const T* filt,
                                         const int64_t* q, const T* v, const T* unit,
                                         const int64_t* center, const int64_t* neighbor,
                                         int64_t edges, int64_t F, int64_t f0, int64_t f1, T* out_v,
                                         T* out_s) {
  for (int64_t e = 0; e < edges; ++e) {
    message_edge_forward<T>(phi + p[e] * 3 * F, filt + q[e] * 3 * F, v + neighbor[e] * 3 * F,
                            unit + e * 3, F, f0, f1, out_v + center[e] * 3 * F,
                            out_s + center[e] * F);
  }
}

// The reverse of one edge's message, shared by edge_message and filter_message: with
// gm = [sum_d g[d] vn[d] | gsc | sum_d g[d] u[d]] (g: the center's output gradient),
//   gph += gm * fl;  gfl (+)= gm * ph;  gvn[d] += g[d] a_v;  partial[d] = sum_f g[d] a_r
// over f in [f0, f1); rows of 3F. kAccumulate: add into gfl (a shared filter row) or write it.
template <typename T, bool kAccumulate>
inline __attribute__((always_inline)) void message_edge_backward(
    const T* g, const T* gsc, const T* ph, const T* fl, const T* vn, const T* unit, int64_t F,
    int64_t f0, int64_t f1, T* gph, T* gfl, T* gvn, T* partial) {
  const T u0 = unit[0], u1 = unit[1], u2 = unit[2];
  T s0 = 0, s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s0, s1, s2)
  for (int64_t f = f0; f < f1; ++f) {
    const T g0 = g[f], g1 = g[F + f], g2 = g[2 * F + f];
    const T gav = g0 * vn[f] + g1 * vn[F + f] + g2 * vn[2 * F + f];
    const T gar = g0 * u0 + g1 * u1 + g2 * u2;
    const T gas = gsc[f];
    const T av = ph[f] * fl[f], ar = ph[2 * F + f] * fl[2 * F + f];
    gph[f] += gav * fl[f];
    gph[F + f] += gas * fl[F + f];
    gph[2 * F + f] += gar * fl[2 * F + f];
    if (kAccumulate) {
      gfl[f] += gav * ph[f];
      gfl[F + f] += gas * ph[F + f];
      gfl[2 * F + f] += gar * ph[2 * F + f];
    } else {
      gfl[f] = gav * ph[f];
      gfl[F + f] = gas * ph[F + f];
      gfl[2 * F + f] = gar * ph[2 * F + f];
    }
    gvn[f] += g0 * av;
    gvn[F + f] += g1 * av;
    gvn[2 * F + f] += g2 * av;
    s0 += g0 * ar;
    s1 += g1 * ar;
    s2 += g2 * ar;
  }
  partial[0] = s0;
  partial[1] = s1;
  partial[2] = s2;
}

// Its reverse for the output gradients gv [*, 3, F] and gs [*, F]:
//   gm = [sum_d gv[c, d] v[n, d] | gs[c] | sum_d gv[c, d] unit[e, d]]
//   gphi[p[e]] += gm * filt[q[e]];  gfilt[q[e]] += gm * phi[p[e]];  gv_in[n[e], d] += gv[c, d] a_v
//   partial[e, d] = sum_{f in block} gv[c, d, f] a_r[f]
template <typename T>
HERMNET_CLONES void edge_message_backward(const T* gv, const T* gs, const T* phi, const int64_t* p,
                                          const T* filt, const int64_t* q, const T* v,
                                          const T* unit, const int64_t* center,
                                          const int64_t* neighbor, int64_t edges, int64_t F,
                                          int64_t f0, int64_t f1, T* gphi, T* gfilt, T* gv_in,
                                          T* partial) {
  for (int64_t e = 0; e < edges; ++e) {
    message_edge_backward<T, true>(gv + center[e] * 3 * F, gs + center[e] * F, phi + p[e] * 3 * F,
                                   filt + q[e] * 3 * F, v + neighbor[e] * 3 * F, unit + e * 3, F,
                                   f0, f1, gphi + p[e] * 3 * F, gfilt + q[e] * 3 * F,
                                   gv_in + neighbor[e] * 3 * F, partial + e * 3);
  }
}

// out[dst[e], k] += x[src[e], k] * w[e]   (x, out: rows of D, contiguous)
template <typename T>
HERMNET_CLONES void gather_scale_add_forward(const T* x, const T* w, const int64_t* src,
                                             const int64_t* dst, int64_t edges, int64_t D,
                                             int64_t k0, int64_t k1, T* out) {
  for (int64_t e = 0; e < edges; ++e) {
    const T* xs = x + src[e] * D;
    T* o = out + dst[e] * D;
    const T we = w[e];
#pragma omp simd
    for (int64_t k = k0; k < k1; ++k) o[k] += xs[k] * we;
  }
}

// Its reverse: gx[src[e]] += g[dst[e]] * w[e];  partial[e] = sum_{k in block} g[dst[e], k]
// x[src[e], k]
template <typename T>
HERMNET_CLONES void gather_scale_add_backward(const T* g, const T* x, const T* w,
                                              const int64_t* src, const int64_t* dst, int64_t edges,
                                              int64_t D, int64_t k0, int64_t k1, T* gx,
                                              T* partial) {
  for (int64_t e = 0; e < edges; ++e) {
    const T* gd = g + dst[e] * D;
    const T* xs = x + src[e] * D;
    T* gxs = gx + src[e] * D;
    const T we = w[e];
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t k = k0; k < k1; ++k) {
      gxs[k] += gd[k] * we;
      s += gd[k] * xs[k];
    }
    partial[e] = s;
  }
}

}  // namespace hermnet::kernels
