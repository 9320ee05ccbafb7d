/* malloc_stats.h: heapkit malloc's statistics through a C interface, for C
 * programs and for bindings in other languages (bindings/rust reads them
 * this way), where the C++ heapkit::gp_stats() cannot be called.
 *
 * The struct only grows at its end: a caller passes the size it knows, the
 * library fills that many bytes (at most its own size) and returns its own
 * size, so a caller built against an older header keeps working.
 *
 * The figures are sums over every thread's heap: exact once the threads
 * involved are quiet, approximate while they run (see src/malloc/stats.hpp).
 * allocations and frees are counted per page, not per call (src/malloc/heap.hpp,
 * heap_counters): a block allocated and freed between two visits of its page
 * is in neither; the live figures are exact. */
#ifndef HEAPKIT_MALLOC_STATS_H
#define HEAPKIT_MALLOC_STATS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hk_stats {
    uint64_t allocations;       /* blocks heapkit malloc handed out (all entry points; per page, see above) */
    uint64_t frees;             /* blocks it took back */
    uint64_t live_blocks;       /* allocations - frees */
    uint64_t live_block_bytes;  /* bytes of the live blocks (block sizes, >= the sizes asked for) */
    uint64_t mapped_bytes;      /* bytes mapped from the OS now (segments and huge blocks) */
    uint64_t mapped_peak;       /* the largest mapped_bytes so far */
    uint64_t huge_cache_blocks; /* freed huge mappings kept for reuse */
    uint64_t huge_cache_bytes;  /* bytes of them that may be resident */
};

/* Fills the first min(size, sizeof(struct hk_stats)) bytes of *out (out may be
 * NULL when size is 0) and returns sizeof(struct hk_stats). Never allocates. */
size_t hk_get_stats(struct hk_stats* out, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_MALLOC_STATS_H */
