// analysis_test: the analysis pass over synthetic traces with known
// contents: exact totals, the peak and who held it, leaks, temporaries,
// before-main numbers, the histogram, realloc cases, threads; a randomised
// trace checked against a naive model; damaged traces analysed up to the
// damage without crashing.
#include "trace/analysis.hpp"
#include "synthetic_trace.hpp"

#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <random>

namespace {

using namespace heapkit;
using trace::op;
using u64 = std::uint64_t;

trace::analysis analyse(const std::vector<std::uint8_t>& bytes, const trace::analysis_options& o = {}) {
    trace::reader r;
    EXPECT_TRUE(r.open_memory(bytes.data(), bytes.size(), "synthetic"));
    return trace::analyze(r, o);
}

// stacks: 1 = main, 2 = f (called by main), 3 = g (called by main)
std::vector<std::uint8_t> known_trace() {
    test::synthetic_trace t;
    t.process(4242, {"prog", "--flag"});
    t.stack(1, 0, 0x1000).stack(2, 1, 0x2000).stack(3, 1, 0x3000);
    t.at(1'000'000).alloc(0x100, 100, 2);  // before main
    t.at(1'500'000).main_start();
    t.at(2'000'000).alloc(0x200, 1000, 3, op::new_);
    t.alloc(0x300, 50, 2);
    t.free(0x300, 2);  // temporary
    t.round();
    t.at(3'000'000).alloc(0x400, 5000, 3, op::calloc);  // the peak: 6100
    t.at(4'000'000).free(0x200, 3, op::delete_);
    t.realloc(0x100, 0x500, 300, 2);          // moved
    t.free(0x999, 2);                         // unknown
    t.alloc(0, u64{1} << 40, 2);              // failed
    t.free(0, 2);                             // free(NULL)
    t.at(5'000'000).realloc(0x500, 0, 0, 2);  // realloc(p, 0) frees
    t.end(0);
    return t.finish();
}

TEST(analysis, exact_totals_of_a_known_trace) {
    const trace::analysis a = analyse(known_trace());
    EXPECT_FALSE(a.error) << a.error->describe();
    EXPECT_TRUE(a.complete);
    EXPECT_EQ(trace::describe_end(a), "exit 0");
    EXPECT_EQ(a.process.pid, 4242u);
    EXPECT_EQ(a.duration_ns, 5'000'000u);

    EXPECT_EQ(a.calls[static_cast<std::size_t>(op::malloc)], 3u);
    EXPECT_EQ(a.calls[static_cast<std::size_t>(op::new_)], 1u);
    EXPECT_EQ(a.calls[static_cast<std::size_t>(op::calloc)], 1u);
    EXPECT_EQ(a.calls[static_cast<std::size_t>(op::free)], 3u);
    EXPECT_EQ(a.calls[static_cast<std::size_t>(op::delete_)], 1u);
    EXPECT_EQ(a.calls[static_cast<std::size_t>(op::realloc)], 2u);
    EXPECT_EQ(a.allocation_calls, 7u);

    EXPECT_EQ(a.allocations, 5u);
    EXPECT_EQ(a.frees, 3u);
    EXPECT_EQ(a.failed, 1u);
    EXPECT_EQ(a.allocated_bytes, 100u + 1000 + 50 + 5000 + 300);
    EXPECT_EQ(a.unknown_frees, 1u);
    EXPECT_EQ(a.free_null, 1u);
    EXPECT_EQ(a.realloc_moved, 1u);
    EXPECT_EQ(a.realloc_freed, 1u);

    EXPECT_EQ(a.peak_heap_bytes, 6100u);
    EXPECT_EQ(a.peak_time_ns, 3'000'000u);
    EXPECT_EQ(a.live_bytes, 5000u);
    EXPECT_EQ(a.live_blocks, 1u);
    EXPECT_EQ(a.temporary, 1u);

    EXPECT_TRUE(a.main_seen);
    EXPECT_EQ(a.before_main_bytes, 100u);
    EXPECT_EQ(a.before_main_calls, 1u);

    EXPECT_EQ(a.histogram_count[trace::histogram_bucket(100)], 1u);
    EXPECT_EQ(trace::histogram_bucket(100), 3u);  // [64, 128)
    EXPECT_EQ(trace::histogram_lo(3), 64u);
    EXPECT_EQ(trace::histogram_hi(3), 128u);
    EXPECT_EQ(trace::histogram_bucket(15), 0u);
    EXPECT_EQ(trace::histogram_bucket(16), 1u);
    EXPECT_EQ(a.histogram_count[6], 1u);     // 1000 in [512, 1024)
    EXPECT_EQ(a.histogram_bytes[9], 5000u);  // [4096, 8192)
    EXPECT_EQ(std::accumulate(a.histogram_count.begin(), a.histogram_count.end(), u64{0}), a.allocations);
    EXPECT_EQ(std::accumulate(a.histogram_bytes.begin(), a.histogram_bytes.end(), u64{0}), a.allocated_bytes);

    const trace::site_stats* f = a.site(2);
    const trace::site_stats* g = a.site(3);
    ASSERT_NE(f, nullptr);
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(f->calls, 5u);
    EXPECT_EQ(f->allocated_bytes, 450u);
    EXPECT_EQ(f->peak_bytes, 100u);
    EXPECT_EQ(f->live_bytes, 0u);
    EXPECT_EQ(f->temporary, 1u);
    EXPECT_EQ(f->failed, 1u);
    EXPECT_EQ(g->calls, 2u);
    EXPECT_EQ(g->allocated_bytes, 6000u);
    EXPECT_EQ(g->peak_bytes, 6000u);
    EXPECT_EQ(g->live_bytes, 5000u);
    EXPECT_EQ(g->live_blocks, 1u);

    ASSERT_FALSE(a.timeline.empty());
    u64 max_heap = 0;
    for (std::size_t i = 0; i < a.timeline.size(); ++i) {
        max_heap = std::max(max_heap, a.timeline[i].heap_bytes);
        if (i > 0) {
            EXPECT_LE(a.timeline[i - 1].time_ns, a.timeline[i].time_ns);
        }
    }
    EXPECT_EQ(max_heap, 6100u);
    EXPECT_EQ(a.timeline.back().heap_bytes, 5000u);
    EXPECT_FALSE(a.snapshots.empty());
}

TEST(analysis, threads_mmap_rss_and_aligned_ops) {
    test::synthetic_trace t;
    t.process(7, {"threads"});
    t.stack(1, 0, 0x10);
    t.thread_start(1, 100, "main").thread_start(2, 101, "worker");
    t.main_start();
    t.on(1).at(10).alloc(0x1000, 64, 1);
    t.on(2).at(20).alloc(0x2000, 128, 1, op::aligned_alloc, 64);
    t.on(1).free(0x2000, 1);  // a cross-thread free: not temporary (thread 1's last allocation was 0x1000)
    t.on(2).alloc(0x3000, 32, 1, op::new_aligned, 32);
    t.on(2).free(0x3000, 1, op::delete_sized_aligned, 32);  // temporary in thread 2
    t.mmap(0x7000000, 1 << 20).munmap(0x7000000, 1 << 20).mmap(0x8000000, 4096);
    t.rss(1 << 20).at(30).rss(3 << 20).rss(2 << 20);
    t.end(3, trace::end_how::exit_now);
    const trace::analysis a = analyse(t.finish());
    EXPECT_FALSE(a.error);
    EXPECT_EQ(trace::describe_end(a), "_exit 3");
    ASSERT_GE(a.threads.size(), 3u);
    EXPECT_EQ(a.threads[1].calls, 2u);
    EXPECT_EQ(a.threads[1].allocated_bytes, 64u);
    EXPECT_EQ(a.threads[1].frees, 1u);
    EXPECT_EQ(a.threads[2].calls, 3u);
    EXPECT_EQ(a.threads[2].allocations, 2u);
    EXPECT_EQ(a.threads[2].temporary, 1u);
    EXPECT_EQ(a.threads[2].tid, 101u);
    EXPECT_EQ(a.threads[2].name, "worker");
    EXPECT_EQ(a.temporary, 1u);
    EXPECT_EQ(a.mmap_calls, 2u);
    EXPECT_EQ(a.mmap_bytes, (1u << 20) + 4096u);
    EXPECT_EQ(a.munmap_calls, 1u);
    EXPECT_EQ(a.munmap_bytes, 1u << 20);
    EXPECT_EQ(a.peak_rss_bytes, 3u << 20);
    EXPECT_EQ(a.peak_rss_time_ns, 30u);
    EXPECT_EQ(a.calls[static_cast<std::size_t>(op::aligned_alloc)], 1u);
    EXPECT_EQ(a.calls[static_cast<std::size_t>(op::delete_sized_aligned)], 1u);
    EXPECT_EQ(a.live_bytes, 64u);
    EXPECT_EQ(a.before_main_calls, 0u);
    bool saw_rss = false;
    for (const auto& p : a.timeline)
        if (p.rss_bytes) saw_rss = true;
    EXPECT_TRUE(saw_rss);
}

TEST(analysis, realloc_cases) {
    test::synthetic_trace t;
    t.process(1, {"r"});
    t.main_start();
    t.realloc(0, 0x100, 10, 0);       // realloc(NULL, 10)
    t.realloc(0x100, 0x100, 20, 0);   // in place
    t.realloc(0x100, 0, 1 << 30, 0);  // failed: the block stays (20 bytes)
    t.realloc(0x100, 0x200, 40, 0);   // moved
    t.end(0);
    const trace::analysis a = analyse(t.finish());
    EXPECT_EQ(a.realloc_null, 1u);
    EXPECT_EQ(a.realloc_in_place, 1u);
    EXPECT_EQ(a.realloc_failed, 1u);
    EXPECT_EQ(a.realloc_moved, 1u);
    EXPECT_EQ(a.failed, 1u);
    EXPECT_EQ(a.allocations, 3u);
    EXPECT_EQ(a.allocated_bytes, 70u);
    EXPECT_EQ(a.live_bytes, 40u);
    EXPECT_EQ(a.live_blocks, 1u);
    EXPECT_EQ(a.peak_heap_bytes, 40u);
    EXPECT_EQ(a.unknown_frees, 0u);
}

// A naive model: live bytes per stack copied whenever the heap passes its peak.
struct naive_model {
    std::map<u64, std::pair<u64, u64>> blocks;  // addr -> (size, stack)
    std::map<u64, u64> live, at_peak, allocated, temporary;
    std::map<std::uint32_t, u64> last_alloc;
    u64 heap = 0, peak = 0;

    void alloc(std::uint32_t th, u64 addr, u64 size, u64 stack) {
        blocks[addr] = {size, stack};
        live[stack] += size;
        allocated[stack] += size;
        heap += size;
        if (heap > peak) {
            peak = heap;
            at_peak = live;
        }
        last_alloc[th] = addr;
    }
    void free(std::uint32_t th, u64 addr) {
        auto it = blocks.find(addr);
        if (it != blocks.end()) {
            if (last_alloc[th] == addr) ++temporary[it->second.second];
            live[it->second.second] -= it->second.first;
            heap -= it->second.first;
            blocks.erase(it);
        }
        last_alloc[th] = 0;
    }
};

TEST(analysis, random_trace_matches_a_naive_model) {
    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    test::synthetic_trace t;
    t.process(9, {"random"});
    for (u64 s = 1; s <= 40; ++s) t.stack(s, s > 5 ? s % 5 + 1 : 0, 0x1000 * s);
    naive_model m;
    std::vector<u64> live_addrs;
    u64 next_addr = 0x10000;
    u64 time = 0;
    std::vector<u64> heap_at_event;  // the model's heap after each event
    for (int i = 0; i < 30000; ++i) {
        const auto th = static_cast<std::uint32_t>(1 + rng() % 3);
        time += rng() % 50'000;
        t.at(time).on(th);
        const u64 stack = 1 + rng() % 40;
        if (live_addrs.empty() || rng() % 100 < 55) {
            const u64 size = rng() % 4096;
            const u64 addr = next_addr;
            next_addr += 0x1000;
            t.alloc(addr, size, stack);
            m.alloc(th, addr, size, stack);
            live_addrs.push_back(addr);
        } else {
            // often the newest block (temporaries), else any
            const std::size_t k = rng() % 2 ? live_addrs.size() - 1 : rng() % live_addrs.size();
            const u64 addr = live_addrs[k];
            live_addrs[k] = live_addrs.back();
            live_addrs.pop_back();
            t.free(addr, stack);
            m.free(th, addr);
        }
        heap_at_event.push_back(m.heap);
        if (i % 1000 == 999) t.round();
    }
    t.end(0);
    trace::analysis_options o;
    o.timeline_points = 100;
    o.max_snapshots = 10;
    const trace::analysis a = analyse(t.finish(), o);
    ASSERT_FALSE(a.error);
    EXPECT_EQ(a.peak_heap_bytes, m.peak);
    u64 peak_sum = 0, leak_sum = 0, temp_sum = 0;
    for (const trace::site_stats& s : a.sites) {
        EXPECT_EQ(s.peak_bytes, m.at_peak[s.stack]) << "stack " << s.stack;
        EXPECT_EQ(s.live_bytes, m.live[s.stack]) << "stack " << s.stack;
        EXPECT_EQ(s.allocated_bytes, m.allocated[s.stack]) << "stack " << s.stack;
        EXPECT_EQ(s.temporary, m.temporary[s.stack]) << "stack " << s.stack;
        peak_sum += s.peak_bytes;
        leak_sum += s.live_bytes;
        temp_sum += s.temporary;
    }
    EXPECT_EQ(peak_sum, a.peak_heap_bytes);
    EXPECT_EQ(leak_sum, a.live_bytes);
    EXPECT_EQ(temp_sum, a.temporary);
    EXPECT_EQ(a.live_bytes, m.heap);

    EXPECT_LE(a.timeline.size(), 100u);
    u64 max_heap = 0;
    for (std::size_t i = 1; i < a.timeline.size(); ++i) EXPECT_LE(a.timeline[i - 1].time_ns, a.timeline[i].time_ns);
    for (const auto& p : a.timeline) max_heap = std::max(max_heap, p.heap_bytes);
    EXPECT_EQ(max_heap, a.peak_heap_bytes);

    // snapshots: at most 10, spread over the trace, each summing to the heap at its seq
    EXPECT_LE(a.snapshots.size(), 10u);
    EXPECT_GE(a.snapshots.size(), 5u);
    for (const trace::heap_snapshot& s : a.snapshots) {
        u64 sum = 0;
        for (const auto& [site, bytes] : s.live) sum += bytes;
        ASSERT_GE(s.seq, 1u + 40 * 0);
        // seq 1 was the first event (process and stacks are metadata)
        ASSERT_LE(s.seq, heap_at_event.size());
        EXPECT_EQ(sum, heap_at_event[s.seq - 1]) << "snapshot at seq " << s.seq;
    }
}

TEST(analysis, damaged_traces_are_analysed_up_to_the_damage) {
    test::synthetic_trace t(trace::codec::none);
    t.process(5, {"damaged"});
    t.stack(1, 0, 0x10);
    for (u64 i = 0; i < 200; ++i) {
        t.alloc(0x1000 + i * 16, 8, 1);
        if (i % 20 == 19) t.round();
    }
    t.end(0);
    const std::vector<std::uint8_t> good = t.finish();
    const trace::analysis full = analyse(good);
    ASSERT_FALSE(full.error);
    EXPECT_EQ(full.allocations, 200u);

    // truncated in the middle: an error, some of the events, no crash
    std::vector<std::uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2));
    trace::reader r;
    ASSERT_TRUE(r.open_memory(cut.data(), cut.size(), "cut"));
    const trace::analysis a = trace::analyze(r);
    ASSERT_TRUE(a.error.has_value());
    EXPECT_FALSE(a.complete);
    EXPECT_LT(a.allocations, 200u);
    EXPECT_GT(a.allocations, 0u);
    EXPECT_EQ(trace::describe_end(a), "incomplete");

    // flipped bytes anywhere: never a crash, never more than there was
    std::mt19937 rng(12345);
    for (int i = 0; i < 300; ++i) {
        std::vector<std::uint8_t> bad = good;
        const std::size_t at = 16 + rng() % (bad.size() - 16);
        bad[at] = static_cast<std::uint8_t>(bad[at] ^ (1u + rng() % 255));
        trace::reader rb;
        if (!rb.open_memory(bad.data(), bad.size(), "bad")) continue;
        const trace::analysis b = trace::analyze(rb);
        EXPECT_LE(b.allocations, 200u);
    }
}

}  // namespace
