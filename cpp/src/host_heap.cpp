// Keep freed host memory in the C library's heap between steps (CPU models).
//
// A CPU step allocates and frees the same few hundred MB of tensors every time. glibc hands
// allocations above its mmap threshold (at most 32 MB by default) straight to the kernel and
// unmaps them when they are freed, so every step page-faults its memory in again: measured
// on the benchmark machine, a 60 MB tensor cost ~30 ms of page faults, and the message hop
// of the default model ran 1.5x slower than with the memory kept (docs/performance.md).
// Raising the mmap and trim thresholds keeps that memory in the heap for the next step. The
// peak is unchanged; resident memory stays at the peak between steps instead of falling,
// which an MD engine reaches again at the next step anyway.
//
// The setting is process-wide, like the heap. HERMNET_KEEP_HEAP=0 leaves malloc alone, and so
// does a process that tunes malloc itself (GLIBC_TUNABLES or MALLOC_*_ environment variables).
#include <cstdlib>
#include <string>

#include "hermnet/model.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace hermnet {

namespace {

bool env_set(const char* name) { return std::getenv(name) != nullptr; }

std::string configure_heap() {
#if defined(__GLIBC__)
  const char* keep = std::getenv("HERMNET_KEEP_HEAP");
  if (keep != nullptr && std::string(keep) == "0") return "malloc defaults (HERMNET_KEEP_HEAP=0)";
  if (env_set("GLIBC_TUNABLES") || env_set("MALLOC_MMAP_THRESHOLD_") ||
      env_set("MALLOC_TRIM_THRESHOLD_"))
    return "malloc as tuned by the environment";
  const int limit = 1 << 30;  // mallopt takes an int; blocks above 1 GiB are mapped as before
  // Older glibc caps the mmap threshold at 32 MB: fall back to the cap.
  const bool mmap_set =
      mallopt(M_MMAP_THRESHOLD, limit) == 1 || mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1;
  const bool trim_set = mallopt(M_TRIM_THRESHOLD, limit) == 1;
  return mmap_set && trim_set ? "freed memory kept in the heap between steps"
                              : "malloc defaults (mallopt refused the thresholds)";
#else
  return "malloc defaults (not glibc)";
#endif
}

}  // namespace

const std::string& keep_host_heap() {
  static const std::string status = configure_heap();  // once per process
  return status;
}

}  // namespace hermnet
