// Several threads hammer locked<X> where X is not thread-safe at all; run
// under ThreadSanitizer (label `concurrent`) a missing lock is a reported race,
// and without it the block contents and the final figures catch lost updates.
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/bucketizer.hpp>
#include <heapkit/compose/fallback.hpp>
#include <heapkit/compose/locked.hpp>

#include "compose/test_allocators.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

using heapkit::layout;
using heapkit::locked;
using heapkit::memory_block;
using heapkit::testing::fixed_buffer;

namespace {

constexpr int thread_count = 4;
constexpr int rounds = 10000;

// heapkit::system with plain (unsynchronised) figures and a log of the last
// blocks: correct in one thread, racy in several.
class unsynchronised_system {
public:
    memory_block allocate(layout l) noexcept {
        memory_block b = inner_.allocate(l);
        if (b) note(+1, static_cast<std::int64_t>(l.size()), b.ptr);
        return b;
    }
    void deallocate(void* p, layout l) noexcept {
        inner_.deallocate(p, l);
        note(-1, -static_cast<std::int64_t>(l.size()), p);
    }
    heapkit::allocator_stats stats() const noexcept {
        heapkit::allocator_stats s;
        s.live_blocks = static_cast<std::size_t>(blocks_);
        s.live_bytes = static_cast<std::size_t>(bytes_);
        s.peak_bytes = peak_;
        return s;
    }
    std::uint64_t calls() const noexcept { return calls_; }

private:
    void note(std::int64_t blocks, std::int64_t bytes, void* p) noexcept {
        blocks_ += blocks;
        bytes_ += bytes;
        if (bytes_ > 0 && static_cast<std::size_t>(bytes_) > peak_) peak_ = static_cast<std::size_t>(bytes_);
        recent_[calls_++ % 8] = p;
    }

    heapkit::system inner_;
    std::int64_t blocks_ = 0;
    std::int64_t bytes_ = 0;
    std::size_t peak_ = 0;
    std::uint64_t calls_ = 0;
    void* recent_[8] = {};
};

layout lay(std::size_t size, std::size_t align) { return *layout::from(size, align); }

// A byte pattern per block and offset, so a block another thread wrote into shows.
unsigned char pattern(std::size_t seed, std::size_t i) { return static_cast<unsigned char>(seed * 131 + i * 7); }
void fill(void* p, std::size_t n, std::size_t seed) {
    auto* b = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) b[i] = pattern(seed, i);
}
std::size_t first_mismatch(const void* p, std::size_t n, std::size_t seed) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        if (b[i] != pattern(seed, i)) return i;
    return n;
}

// Each thread keeps up to 16 live blocks, writes a pattern into each, checks it
// before every free and after every grow. Returns the number of failed allocations.
template <class A>
std::size_t hammer(A& a, unsigned seed) {
    struct live {
        void* p;
        layout l;
        std::size_t pattern;
    };
    std::mt19937 rng(seed);
    std::vector<live> blocks;
    std::size_t failures = 0;
    auto check_and_free = [&](std::size_t k) {
        live& b = blocks[k];
        EXPECT_EQ(first_mismatch(b.p, b.l.size(), b.pattern), b.l.size()) << "another thread wrote into a block";
        a.deallocate(b.p, b.l);
        blocks[k] = blocks.back();
        blocks.pop_back();
    };
    for (int i = 0; i < rounds; ++i) {
        const auto op = static_cast<unsigned>(rng() % 10);
        if (blocks.empty() || (op < 5 && blocks.size() < 16)) {
            const layout l = lay(rng() % 600, std::size_t{1} << (rng() % 6));
            memory_block b = (op % 2 == 0) ? heapkit::allocate_zeroed(a, l) : a.allocate(l);
            if (!b) {
                ++failures;
                continue;
            }
            const std::size_t pattern = seed * 100000 + static_cast<std::size_t>(i);
            fill(b.ptr, l.size(), pattern);
            blocks.push_back({b.ptr, l, pattern});
        } else if (op < 8) {
            check_and_free(rng() % blocks.size());
        } else {
            live& b = blocks[rng() % blocks.size()];
            const layout nl = lay(b.l.size() + rng() % 300, b.l.align());
            memory_block g = heapkit::grow(a, b.p, b.l, nl);
            if (!g) {
                ++failures;
                continue;
            }
            EXPECT_EQ(first_mismatch(g.ptr, b.l.size(), b.pattern), b.l.size()) << "grow lost data";
            fill(g.ptr, nl.size(), b.pattern);
            b.p = g.ptr;
            b.l = nl;
        }
    }
    while (!blocks.empty()) check_and_free(blocks.size() - 1);
    return failures;
}

template <class A>
std::size_t run_threads(A& a) {
    std::atomic<std::size_t> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&a, &failures, t] { failures += hammer(a, static_cast<unsigned>(t + 1)); });
    }
    for (auto& t : threads) t.join();
    return failures.load();
}

}  // namespace

TEST(locked_threads, a_bump_buffer_is_shared_safely) {
    // fixed_buffer bumps a pointer and resets itself when empty: plain fields, no atomics.
    auto a = std::make_unique<locked<fixed_buffer<1 << 20>>>();
    run_threads(*a);  // some allocations may fail when the buffer fills; their contents are what matters
    const heapkit::allocator_stats s = a->stats();
    EXPECT_EQ(s.live_blocks, 0u);
    EXPECT_EQ(s.live_bytes, 0u);
    EXPECT_EQ(s.free_bytes, s.held_bytes) << "an empty buffer starts over";
}

TEST(locked_threads, an_unsynchronised_system_is_shared_safely) {
    locked<unsynchronised_system> a;
    EXPECT_EQ(run_threads(a), 0u);
    const heapkit::allocator_stats s = a.stats();
    EXPECT_EQ(s.live_blocks, 0u);
    EXPECT_EQ(s.live_bytes, 0u);
    EXPECT_GT(a.inner().calls(), static_cast<std::uint64_t>(thread_count) * rounds / 2);
}

TEST(locked_threads, a_composition_is_shared_safely) {
    using composed =
        heapkit::fallback<fixed_buffer<1 << 14>, heapkit::bucketizer<unsynchronised_system, 64, 256, 1024>>;
    auto a = std::make_unique<locked<composed>>();
    run_threads(*a);  // requests above 1024 bytes that the buffer cannot take fail
    const heapkit::allocator_stats s = a->stats();
    EXPECT_EQ(s.live_blocks, 0u);
    EXPECT_EQ(s.live_bytes, 0u);
}

TEST(locked_threads, the_lock_gives_mutual_exclusion) {
    heapkit::detail::futex_lock lock;
    std::uint64_t counter = 0;  // deliberately not atomic
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20000; ++i) {
                lock.lock();
                ++counter;
                lock.unlock();
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(counter, static_cast<std::uint64_t>(thread_count) * 20000);
}
