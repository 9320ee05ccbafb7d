// heapkit::counting<A> under threads: once the threads have returned from
// their calls, every figure is exact, whichever slots the threads landed in
// and whichever thread frees a block.
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/counting.hpp>

#include <gtest/gtest.h>

#include <barrier>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

using heapkit::counting;
using heapkit::counting_snapshot;
using heapkit::layout;
using heapkit::memory_block;

constexpr unsigned thread_count = 6;  // fewer than slot_count, and more than the cores
constexpr std::size_t rounds = 4000;

layout lay(std::size_t size) { return *layout::from(size, 8); }

// The size thread t uses in round i: deterministic, so the expected totals are known.
std::size_t size_for(unsigned t, std::size_t i) { return 1 + (t * 7919 + i * 104729) % 3000; }

TEST(counting_threads, concurrent_allocate_grow_free_gives_exact_totals) {
    counting<heapkit::system> c;
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < thread_count; ++t) {
        threads.emplace_back([&c, t] {
            for (std::size_t i = 0; i < rounds; ++i) {
                const std::size_t n = size_for(t, i);
                memory_block b = c.allocate(lay(n));
                if (!b) std::abort();
                static_cast<unsigned char*>(b.ptr)[0] = static_cast<unsigned char>(t);
                if (i % 3 == 0) {  // every third block grows before it is freed
                    memory_block g = c.grow(b.ptr, lay(n), lay(n + 100));
                    if (!g) std::abort();
                    c.deallocate(g.ptr, lay(n + 100));
                } else {
                    c.deallocate(b.ptr, lay(n));
                }
            }
        });
    }
    for (auto& th : threads) th.join();

    std::size_t bytes = 0;
    std::size_t grows = 0;
    for (unsigned t = 0; t < thread_count; ++t) {
        for (std::size_t i = 0; i < rounds; ++i) {
            bytes += size_for(t, i);
            if (i % 3 == 0) {
                ++grows;
                bytes += size_for(t, i) + 100;
            }
        }
    }
    const counting_snapshot s = c.snapshot();
    EXPECT_EQ(s.allocations, thread_count * rounds);
    EXPECT_EQ(s.deallocations, thread_count * rounds);
    EXPECT_EQ(s.reallocations, grows);
    EXPECT_EQ(s.failures, 0u);
    EXPECT_EQ(s.bytes_allocated, bytes);
    EXPECT_EQ(s.bytes_freed, bytes);
    EXPECT_EQ(s.live_bytes(), 0u);
    EXPECT_EQ(s.live_blocks(), 0u);
    EXPECT_EQ(s.calls(), 2 * thread_count * rounds + grows);
}

TEST(counting_threads, blocks_freed_by_another_thread_balance_out) {
    // Phase 1: every thread allocates its own blocks. Phase 2: every thread
    // frees its neighbour's blocks, so each slot's live delta ends up
    // non-zero while the total is zero.
    counting<heapkit::system> c;
    constexpr std::size_t per_thread = 2000;
    std::vector<std::vector<std::pair<void*, std::size_t>>> made(thread_count);
    std::barrier sync(thread_count);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < thread_count; ++t) {
        threads.emplace_back([&, t] {
            made[t].reserve(per_thread);  // the vector's own memory is not from c
            for (std::size_t i = 0; i < per_thread; ++i) {
                const std::size_t n = size_for(t, i);
                memory_block b = c.allocate(lay(n));
                if (!b) std::abort();
                made[t].emplace_back(b.ptr, n);
            }
            sync.arrive_and_wait();
            for (auto [p, n] : made[(t + 1) % thread_count]) c.deallocate(p, lay(n));
        });
    }
    for (auto& th : threads) th.join();

    std::size_t bytes = 0;
    for (unsigned t = 0; t < thread_count; ++t)
        for (std::size_t i = 0; i < per_thread; ++i) bytes += size_for(t, i);
    const counting_snapshot s = c.snapshot();
    EXPECT_EQ(s.allocations, thread_count * per_thread);
    EXPECT_EQ(s.deallocations, thread_count * per_thread);
    EXPECT_EQ(s.bytes_allocated, bytes);
    EXPECT_EQ(s.bytes_freed, bytes);
    EXPECT_EQ(s.live_bytes(), 0u);
    EXPECT_EQ(s.live_blocks(), 0u);
    // Nothing was freed before every block was made, so the true peak is
    // `bytes`; the header promises it within slot_count x flush_bytes.
    const std::size_t slack =
        counting<heapkit::system>::slot_count * static_cast<std::size_t>(counting<heapkit::system>::flush_bytes);
    EXPECT_GE(s.peak_bytes + slack, bytes);
    EXPECT_LE(s.peak_bytes, bytes + slack);
}

TEST(counting_threads, snapshot_while_threads_hold_blocks_is_exact) {
    // The main thread takes a snapshot while every worker holds its blocks
    // and waits: all of them have returned from their calls, so live bytes
    // are exact, and the peak is at least that.
    counting<heapkit::system> c;
    constexpr std::size_t per_thread = 300;
    std::barrier held(thread_count + 1);
    std::barrier release(thread_count + 1);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < thread_count; ++t) {
        threads.emplace_back([&, t] {
            std::vector<std::pair<void*, std::size_t>> mine;
            mine.reserve(per_thread);
            for (std::size_t i = 0; i < per_thread; ++i) {
                const std::size_t n = size_for(t, i);
                memory_block b = c.allocate(lay(n));
                if (!b) std::abort();
                mine.emplace_back(b.ptr, n);
            }
            held.arrive_and_wait();
            release.arrive_and_wait();
            for (auto [p, n] : mine) c.deallocate(p, lay(n));
        });
    }
    held.arrive_and_wait();
    const counting_snapshot during = c.snapshot();
    release.arrive_and_wait();
    for (auto& th : threads) th.join();

    std::size_t bytes = 0;
    for (unsigned t = 0; t < thread_count; ++t)
        for (std::size_t i = 0; i < per_thread; ++i) bytes += size_for(t, i);
    EXPECT_EQ(during.allocations, thread_count * per_thread);
    EXPECT_EQ(during.deallocations, 0u);
    EXPECT_EQ(during.live_bytes(), bytes);
    EXPECT_EQ(during.live_blocks(), thread_count * per_thread);
    EXPECT_GE(during.peak_bytes, bytes);

    const counting_snapshot after = c.snapshot();
    EXPECT_EQ(after.live_bytes(), 0u);
    EXPECT_GE(after.peak_bytes, bytes);  // the snapshot raised it; it never goes down
}

}  // namespace
