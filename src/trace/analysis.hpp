// analysis: one streaming pass over a trace (reader.hpp) that computes what
// `heapkit report` shows: totals per op, the live heap over time and its
// peak, a size histogram, per call site (stack id) numbers, leaks at exit,
// temporary allocations, per-thread totals and snapshots of the live heap.
// It prints nothing; the tools format the result.
//
// Data structures (memory ∝ distinct stacks + live blocks, never ∝ events):
//   live blocks   open-addressing map addr -> {size, site index}
//   sites         dense vector of site_stats, plus a map stack id -> index
//   threads       vector indexed by recorder slot
//   timeline      <= timeline_points buckets of equal width in time; when
//                 they overflow, neighbours merge and the width doubles
//   snapshots     <= max_snapshots, taken every `interval` events of seq;
//                 when they overflow every other one is dropped and the
//                 interval doubles (so they stay evenly spread over seq)
//
// Live at the peak, per site, exactly and in O(1) per event: the global peak
// carries an epoch that grows each time the live heap exceeds its peak. A
// site remembers the epoch of its last change; before a site changes, if a
// peak happened since (its epoch < the peak's), its current live bytes are
// the bytes it had at that peak and are saved in `peak_bytes`. At the end,
// sites untouched since the last peak take their final live bytes.
//
// Definitions (docs/profile.md, "The report"):
//   allocation    a successful alloc event, or a successful realloc (also
//                 realloc(NULL, n)); its bytes are the requested size
//   free          a free event of a known block, or realloc(p, 0) freeing p
//   failed        an alloc or realloc that returned NULL
//   temporary     an allocation freed by the next allocation-related call of
//                 the same thread (heaptrack's definition)
//   leaked        not freed when the trace ends
//   before main   events before the main_start record
#pragma once

#include "trace/format.hpp"
#include "trace/reader.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace heapkit::trace {

// Numbers of one call site (one stack id). Allocation-side numbers belong to
// the stack of the allocating call; frees lower the live bytes of the site
// that allocated the block.
struct site_stats {
    std::uint64_t stack = 0;            // stack_node id (0: no stack recorded)
    std::uint64_t calls = 0;            // alloc and realloc calls made here (failed ones too)
    std::uint64_t allocations = 0;      // successful ones
    std::uint64_t allocated_bytes = 0;  // bytes requested by them
    std::uint64_t failed = 0;
    std::uint64_t frees = 0;       // free calls made here (of known blocks)
    std::uint64_t temporary = 0;   // allocations made here that were temporary
    std::uint64_t live_bytes = 0;  // allocated here, not yet freed (at the end: leaked)
    std::uint64_t live_blocks = 0;
    std::uint64_t peak_bytes = 0;  // live bytes of this site at the global peak (final after analyze)
    std::uint64_t peak_epoch = 0;  // internal: the peak epoch of the last change
};

struct thread_stats {
    std::uint32_t slot = 0;
    std::uint64_t tid = 0;
    std::string name;
    std::uint64_t calls = 0;  // alloc, free and realloc calls
    std::uint64_t allocations = 0;
    std::uint64_t allocated_bytes = 0;
    std::uint64_t frees = 0;
    std::uint64_t temporary = 0;
};

struct timeline_point {
    std::uint64_t time_ns = 0;
    std::uint64_t heap_bytes = 0;            // the highest live heap in this point's span
    std::optional<std::uint64_t> rss_bytes;  // the highest RSS sample in the span, if any
};

struct heap_snapshot {
    std::uint64_t seq = 0, time_ns = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> live;  // (site index, live bytes > 0)
};

struct fork_info {
    std::uint64_t seq = 0, time_ns = 0;
    std::int64_t child_pid = 0;
    std::string child_trace;
};

// Power-of-two size buckets: [0, 16), [16, 32), [32, 64), ... [2^63, 2^64).
inline constexpr std::size_t histogram_buckets = 61;
constexpr std::size_t histogram_bucket(std::uint64_t size) noexcept {
    if (size < 16) return 0;
    std::size_t bits = 0;
    while (size >> bits) ++bits;  // bit width
    return bits - 4;
}
constexpr std::uint64_t histogram_lo(std::size_t bucket) noexcept {
    return bucket == 0 ? 0 : std::uint64_t{8} << bucket;
}
constexpr std::uint64_t histogram_hi(std::size_t bucket) noexcept {  // exclusive; 0 = 2^64
    return bucket + 4 >= 64 ? 0 : std::uint64_t{16} << bucket;
}

struct analysis_options {
    std::size_t timeline_points = 2000;  // at most this many timeline points
    std::size_t max_snapshots = 100;     // at most this many snapshots
};

struct analysis {
    // the process
    process_info process;
    std::uint64_t duration_ns = 0;    // the end record's time, else the last event's
    bool complete = false;            // the end record was read
    end_how how = end_how::exit;      // valid when complete
    std::int64_t status = 0;          // valid when complete
    std::optional<read_error> error;  // damage: what was read before it is analysed
    std::uint64_t events = 0;         // events read
    std::uint64_t lost_events = 0;
    std::uint64_t last_seq = 0;

    // totals
    std::array<std::uint64_t, static_cast<std::size_t>(op::count_)> calls{};  // per op
    std::uint64_t allocation_calls = 0;  // alloc + realloc events (== sum of site.calls)
    std::uint64_t allocations = 0, frees = 0, failed = 0;
    std::uint64_t allocated_bytes = 0;
    std::uint64_t unknown_frees = 0;  // frees (and reallocs) of addresses not live in the trace
    std::uint64_t free_null = 0;      // free(NULL) and the like
    std::uint64_t replaced_live = 0;  // an allocation returned an address still live (missed free)
    std::uint64_t realloc_moved = 0, realloc_in_place = 0, realloc_freed = 0, realloc_failed = 0,
                  realloc_null = 0;  // realloc(NULL, n)
    std::uint64_t temporary = 0;

    std::uint64_t live_bytes = 0, live_blocks = 0;  // at the end: leaked
    std::uint64_t peak_heap_bytes = 0, peak_time_ns = 0, peak_seq = 0;
    std::uint64_t peak_rss_bytes = 0, peak_rss_time_ns = 0;

    bool main_seen = false;
    std::uint64_t main_seq = 0, main_time_ns = 0;
    std::uint64_t before_main_calls = 0, before_main_bytes = 0;  // alloc-family calls, bytes allocated

    std::uint64_t mmap_calls = 0, mmap_bytes = 0, munmap_calls = 0, munmap_bytes = 0, mremap_calls = 0;

    std::array<std::uint64_t, histogram_buckets> histogram_count{}, histogram_bytes{};

    std::vector<site_stats> sites;      // one per distinct stack that allocated or freed
    std::vector<thread_stats> threads;  // by slot; slots without calls have calls == 0
    std::vector<timeline_point> timeline;
    std::vector<heap_snapshot> snapshots;
    std::vector<fork_info> forks;
    std::string exec_path;  // the exec record's path, if the process called exec

    // The site of a stack id, or nullptr.
    const site_stats* site(std::uint64_t stack) const;
};

// Reads every event of `r` (opened) and analyses it. Damage stops the pass;
// `error` then says where, and the numbers cover what was read.
analysis analyze(reader& r, const analysis_options& options = {});

// "exit 0", "_exit 3", "abort", "exec", "unloaded", or "incomplete".
std::string describe_end(const analysis& a);

}  // namespace heapkit::trace
