// stats_c: hk_get_stats, the C face of heapkit::gp_stats() plus the huge
// cache figures (include/heapkit/malloc_stats.h). It copies a struct built on
// the stack, so a caller that knows a shorter struct gets its prefix.
#include <heapkit/malloc_stats.h>

#include <heapkit/malloc.hpp>

#include "large.hpp"

#include <cstring>

extern "C" __attribute__((visibility("default"))) std::size_t hk_get_stats(hk_stats* out, std::size_t size) {
    const heapkit::gp_statistics g = heapkit::gp_stats();
    const heapkit::hkmalloc::huge_cache_info hc = heapkit::hkmalloc::huge_cache_stats();
    hk_stats s{};
    s.allocations = g.allocations;
    s.frees = g.frees;
    s.live_blocks = g.live_blocks;
    s.live_block_bytes = g.live_block_bytes;
    s.mapped_bytes = g.mapped_bytes;
    s.mapped_peak = g.mapped_peak;
    s.huge_cache_blocks = hc.blocks;
    s.huge_cache_bytes = hc.dirty_bytes;
    if (out != nullptr && size != 0) std::memcpy(out, &s, size < sizeof s ? size : sizeof s);
    return sizeof s;
}
