// stats: see stats.hpp.
#include "stats.hpp"

#include "large.hpp"

#include "heap.hpp"
#include "options.hpp"
#include "segment.hpp"

#include <heapkit/detail/line_buffer.hpp>

#include <atomic>

namespace heapkit::hkmalloc {
namespace {

constinit std::atomic<std::uint64_t> g_gp_peak{0};  // the largest gp live bytes seen by a read

void row(int fd, const char* name, std::uint64_t value) noexcept {
    detail::line_buffer<128> line;
    line.text("heapkit:   ").text(name);
    for (std::size_t n = std::char_traits<char>::length(name); n < 22; ++n) line.text(" ");
    line.dec(value).text("\n");
    (void)line.write_to(fd);
}

}  // namespace

void stats_print(int fd) noexcept {
    const gp_statistics s = gp_stats();
    detail::line_buffer<64> head;
    head.text("heapkit: malloc statistics\n");
    (void)head.write_to(fd);
    row(fd, "allocations", s.allocations);
    row(fd, "frees", s.frees);
    row(fd, "live blocks", s.live_blocks);
    row(fd, "live block bytes", s.live_block_bytes);
    row(fd, "mapped bytes", s.mapped_bytes);
    row(fd, "mapped peak bytes", s.mapped_peak);
    const huge_cache_info hc = huge_cache_stats();  // freed huge mappings waiting for reuse (large.hpp)
    row(fd, "huge cache blocks", hc.blocks);
    row(fd, "huge cache bytes", hc.dirty_bytes);
}

}  // namespace heapkit::hkmalloc

namespace heapkit {

gp_statistics gp_stats() noexcept {
    using namespace hkmalloc;
    const counters_sum c = heap_counters_sum();
    gp_statistics s;
    s.allocations = c.allocs;
    s.frees = c.frees;
    s.live_blocks = c.allocs - c.frees;
    s.live_block_bytes = c.alloc_bytes - c.free_bytes;
    s.mapped_bytes = segment_mapped_bytes();
    s.mapped_peak = segment_mapped_peak();
    s.gp.live_blocks = c.gp_allocs - c.gp_frees;
    s.gp.live_bytes = c.gp_alloc_bytes - c.gp_free_bytes;
    std::uint64_t peak = g_gp_peak.load(std::memory_order_relaxed);
    while (s.gp.live_bytes > peak &&
           !g_gp_peak.compare_exchange_weak(peak, s.gp.live_bytes, std::memory_order_relaxed)) {
    }
    s.gp.peak_bytes = peak > s.gp.live_bytes ? peak : s.gp.live_bytes;
    s.gp.held_bytes = s.mapped_bytes;
    return s;
}

}  // namespace heapkit

extern "C" __attribute__((visibility("default"))) void hk_print_stats(int fd) noexcept {
    heapkit::hkmalloc::stats_print(fd);
}

// HEAPKIT_STATS=1: the table at exit (a destructor function, not a static object),
// also for a program that never allocated (only the options are read then).
__attribute__((destructor)) static void hk_stats_at_exit() {
    if (!heapkit::hkmalloc::global_init_done()) heapkit::hkmalloc::options_init();
    const heapkit::hkmalloc::options& o = heapkit::hkmalloc::get_options();
    if (o.stats) heapkit::hkmalloc::stats_print(o.stats_fd);
}
