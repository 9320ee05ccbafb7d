#include <heapkit/alloc/pool.hpp>
#include <heapkit/alloc/pool_set.hpp>
#include <heapkit/alloc/system.hpp>

#include <cstdio>
#include <set>
#include <vector>

#include "conformance.hpp"
#include "seeds.hpp"
#include "fixed_buffer.hpp"
#include "shadow_model.hpp"

namespace {

using heapkit::layout;
using heapkit::memory_block;
using heapkit::pool;
using heapkit::pool_set;

layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }

// A pool of page-sized, page-aligned blocks: the one block size that can run
// the conformance suite (it asks for up to 4000 bytes at up to 4096 alignment
// once sizes are capped at max_block).
struct page_pool : pool<> {
    page_pool() : pool<>(4096, 4096) {}
    explicit page_pool(std::span<std::byte> buffer) : pool<>(buffer, 4096, 4096) {}
};

// The same over its own 2 MiB buffer: 511 blocks (the suite keeps ~230 live).
using fixed_page_pool = heapkit::testing::on_buffer<page_pool, std::size_t{2} << 20>;

using heapkit::testing::seeds;

}  // namespace

namespace heapkit::testing {
template <>
struct conformance_traits<page_pool> {
    static std::unique_ptr<page_pool> make() { return std::make_unique<page_pool>(); }
    static constexpr std::size_t max_block = 4096;
    static constexpr std::size_t max_align = 4096;
    static constexpr bool always_fails = false;
};
template <>
struct conformance_traits<fixed_page_pool> {
    static std::unique_ptr<fixed_page_pool> make() { return std::make_unique<fixed_page_pool>(); }
    static constexpr std::size_t max_block = 4096;
    static constexpr std::size_t max_align = 4096;
    static constexpr bool always_fails = false;
};
}  // namespace heapkit::testing

HEAPKIT_CONFORMANCE(pool_of_pages, page_pool);
HEAPKIT_CONFORMANCE(pool_fixed_buffer, fixed_page_pool);
HEAPKIT_CONFORMANCE(pool_set, heapkit::pool_set<>);
HEAPKIT_CONFORMANCE(pool_set_over_system, heapkit::pool_set<heapkit::system>);

// ---- pool ----

TEST(pool, shadow_model) {
    for (std::uint64_t seed : seeds()) {
        std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
        pool<> p(256, 64);
        EXPECT_EQ(heapkit::testing::run_shadow_model(p, seed, 4000, {.max_size = 256, .max_align = 64}), "");
    }
}

TEST(pool, shadow_model_over_a_fixed_buffer_that_runs_out) {
    for (std::uint64_t seed : seeds()) {
        std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
        alignas(64) static std::byte buffer[64 * 48];
        pool<> p(std::span<std::byte>(buffer), 48, 16);  // 63 blocks: fewer than the model keeps live
        heapkit::testing::shadow_driver<pool<>> d(p, {.max_size = 48, .max_align = 16, .max_live = 200});
        heapkit::testing::op_source src(seed);
        for (int i = 0; i < 4000 && d.step(src); ++i) {
        }
        d.release_all();
        EXPECT_TRUE(d.ok()) << "seed " << seed << ": " << d.error();
        EXPECT_GT(d.failed_allocations(), 0u) << "the buffer was meant to run out";
        EXPECT_EQ(p.parent().stats().held_bytes, 0u);
    }
}

TEST(pool, block_size_is_rounded_to_the_alignment_and_a_pointer) {
    EXPECT_EQ(pool<>(1, 1).block_size(), sizeof(void*));
    EXPECT_EQ(pool<>(1, 1).block_align(), alignof(void*));
    EXPECT_EQ(pool<>(24, 16).block_size(), 32u);
    EXPECT_EQ(pool<>(100, 64).block_size(), 128u);
    EXPECT_EQ(pool<>(100, 64).block_align(), 64u);
}

TEST(pool, requests_that_do_not_fit_fail_as_a_value) {
    pool<> p(64, 16);
    EXPECT_FALSE(p.allocate(lay(65)));
    EXPECT_FALSE(p.allocate(lay(8, 32)));
    EXPECT_FALSE(p.allocate(lay(std::size_t{1} << 40)));
    EXPECT_EQ(p.stats().held_bytes, 0u);  // not even a chunk was asked for
    auto ok = p.allocate(lay(64, 16));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok.size, 64u);
    EXPECT_TRUE(heapkit::is_aligned(ok.ptr, 16));
    // grow beyond the block fails and keeps the block
    heapkit::testing::fill(ok.ptr, 64, 4);
    EXPECT_FALSE(p.grow(ok.ptr, lay(64, 16), lay(65, 16)));
    EXPECT_EQ(heapkit::testing::first_mismatch(ok.ptr, 64, 4), 64u);
    p.deallocate(ok.ptr, lay(64, 16));
}

TEST(pool, zero_size_uses_no_block) {
    pool<> p(32);
    for (std::size_t align = 1; align <= 8192; align *= 2) {
        auto z = p.allocate(lay(0, align));
        ASSERT_TRUE(z);
        EXPECT_TRUE(heapkit::is_aligned(z.ptr, align));
        EXPECT_EQ(p.stats().live_blocks, 1u);
        p.deallocate(z.ptr, lay(0, align));
    }
    EXPECT_EQ(p.stats().held_bytes, 0u);
    EXPECT_EQ(p.stats().live_blocks, 0u);
}

TEST(pool, reuse_is_lifo_and_o1) {
    pool<> p(40);
    std::vector<void*> blocks;
    for (int i = 0; i < 10; ++i) blocks.push_back(p.allocate(lay(40)).ptr);
    const std::size_t held = p.stats().held_bytes;
    p.deallocate(blocks[3], lay(40));
    p.deallocate(blocks[7], lay(40));
    p.deallocate(blocks[5], lay(40));
    EXPECT_EQ(p.allocate(lay(40)).ptr, blocks[5]);
    EXPECT_EQ(p.allocate(lay(33)).ptr, blocks[7]);
    EXPECT_EQ(p.allocate(lay(1)).ptr, blocks[3]);
    EXPECT_EQ(p.stats().held_bytes, held);
}

TEST(pool, blocks_are_carved_lazily_in_address_order) {
    pool<> p(64, 64);
    auto a = p.allocate(lay(64, 64));
    ASSERT_TRUE(a);
    const auto s = p.stats();
    EXPECT_EQ(s.held_bytes, 4096u);                      // one chunk
    EXPECT_EQ(s.free_bytes, (4096 / 64 - 1 - 1) * 64u);  // 62 more blocks; the footer takes the last
    EXPECT_EQ(s.largest_free, 64u);
    auto b = p.allocate(lay(64, 64));
    EXPECT_EQ(static_cast<char*>(b.ptr), static_cast<char*>(a.ptr) + 64);
    EXPECT_TRUE(p.owns(a.ptr));
    EXPECT_TRUE(p.owns(static_cast<char*>(a.ptr) + 62 * 64));  // not carved yet, still the chunk's
    int on_stack = 0;
    EXPECT_FALSE(p.owns(&on_stack));
}

TEST(pool, chunks_grow_geometrically_or_stay_fixed) {
    pool<> g(64, 64);  // 4 KiB, 8 KiB, 16 KiB ...
    std::size_t n = 0;
    while (g.chunk_count() < 4) {
        ASSERT_TRUE(g.allocate(lay(64, 64)));
        ++n;
    }
    EXPECT_EQ(g.stats().held_bytes, 4096u + 8192 + 16384 + 32768);
    EXPECT_EQ(n, 63u + 127 + 255 + 1);

    pool<> f(64, 64, {.first_chunk_bytes = 8192, .geometric = false});
    while (f.chunk_count() < 4) ASSERT_TRUE(f.allocate(lay(64, 64)));
    EXPECT_EQ(f.stats().held_bytes, 4u * 8192);

    pool<> capped(64, 64, {.first_chunk_bytes = 4096, .geometric = true, .max_chunk_bytes = 8192});
    while (capped.chunk_count() < 4) ASSERT_TRUE(capped.allocate(lay(64, 64)));
    EXPECT_EQ(capped.stats().held_bytes, 4096u + 3 * 8192);

    pool<> big(10000, 16);  // a chunk holds at least one block
    ASSERT_TRUE(big.allocate(lay(10000)));
    EXPECT_GE(big.stats().held_bytes, 10000u);
}

TEST(pool, deallocate_all_returns_the_chunks) {
    pool<> p(128);
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(p.allocate(lay(100)));
    EXPECT_GT(p.parent().stats().held_bytes, 0u);
    p.deallocate_all();
    EXPECT_EQ(p.parent().stats().held_bytes, 0u);
    EXPECT_EQ(p.stats().held_bytes, 0u);
    EXPECT_EQ(p.stats().live_blocks, 0u);
    EXPECT_EQ(p.stats().peak_bytes, 50000u);
    EXPECT_EQ(p.chunk_count(), 0u);
    EXPECT_TRUE(p.allocate(lay(100)));
}

TEST(pool, fixed_buffer_exhaustion_is_a_value_and_frees_recover) {
    alignas(32) std::byte buffer[32 * 16 + 32];  // 16 blocks of 32 and room for the footer
    pool<> p(std::span<std::byte>(buffer), 32, 32);
    std::vector<void*> blocks;
    while (auto b = p.allocate(lay(30, 32))) blocks.push_back(b.ptr);
    EXPECT_EQ(blocks.size(), 16u);
    EXPECT_EQ(std::set<void*>(blocks.begin(), blocks.end()).size(), 16u);
    EXPECT_FALSE(p.allocate(lay(30, 32)));
    EXPECT_EQ(p.stats().free_bytes, 0u);
    EXPECT_EQ(p.stats().held_bytes, sizeof buffer);
    EXPECT_EQ(p.parent().stats().held_bytes, 0u);
    p.deallocate(blocks[9], lay(30, 32));
    auto again = p.allocate(lay(32, 32));
    EXPECT_EQ(again.ptr, blocks[9]);
    EXPECT_FALSE(p.allocate(lay(30, 32)));
    p.deallocate_all();
    EXPECT_EQ(p.stats().free_bytes, 16u * 32);
    EXPECT_EQ(p.allocate(lay(1)).ptr, static_cast<void*>(buffer));
}

TEST(pool, grow_and_shrink_stay_in_the_block) {
    pool<> p(256, 16);
    auto a = p.allocate(lay(10, 16));
    ASSERT_TRUE(a);
    auto g = p.grow(a.ptr, lay(10, 16), lay(250, 16));
    EXPECT_EQ(g.ptr, a.ptr);
    EXPECT_EQ(p.stats().live_bytes, 250u);
    auto s = p.shrink(g.ptr, lay(250, 16), lay(3, 16));
    EXPECT_EQ(s.ptr, a.ptr);
    EXPECT_EQ(p.stats().live_bytes, 3u);
    EXPECT_EQ(p.stats().peak_bytes, 250u);
    // shrinking to nothing gives the block back
    auto z = p.shrink(s.ptr, lay(3, 16), lay(0, 16));
    ASSERT_TRUE(z);
    EXPECT_EQ(p.stats().live_bytes, 0u);
    EXPECT_EQ(p.stats().live_blocks, 1u);
    EXPECT_EQ(p.allocate(lay(8)).ptr, a.ptr);
    p.deallocate(z.ptr, lay(0, 16));
}

TEST(pool, stats_are_exact) {
    pool<> p(48, 16);
    auto a = p.allocate(lay(40, 8));
    auto b = p.allocate(lay(48, 16));
    auto c = p.allocate(lay(1, 1));
    ASSERT_TRUE(a && b && c);
    p.deallocate(b.ptr, lay(48, 16));
    const auto s = p.stats();
    const std::size_t blocks_in_chunk = (4096 - 24) / 48;  // the footer is 3 words
    EXPECT_EQ(s.live_bytes, 41u);
    EXPECT_EQ(s.live_blocks, 2u);
    EXPECT_EQ(s.peak_bytes, 89u);
    EXPECT_EQ(s.held_bytes, 4096u);
    EXPECT_EQ(s.slack_bytes, 2 * 48u - 41);
    EXPECT_EQ(s.free_bytes, (blocks_in_chunk - 2) * 48);
    EXPECT_EQ(s.largest_free, 48u);
}

// ---- pool_set ----

TEST(pool_set, size_classes_are_tight_and_ordered) {
    using ps = pool_set<>;
    EXPECT_EQ(ps::class_size(0), 8u);
    EXPECT_EQ(ps::class_size(1), 16u);
    EXPECT_EQ(ps::class_size(4), 64u);
    EXPECT_EQ(ps::class_size(5), 80u);
    EXPECT_EQ(ps::class_size(8), 128u);
    EXPECT_EQ(ps::class_size(9), 160u);
    for (std::size_t i = 1; i < ps::max_class_count; ++i) EXPECT_GT(ps::class_size(i), ps::class_size(i - 1));
    for (std::size_t s = 1; s <= ps::largest_max_small; ++s) {
        const std::size_t c = ps::class_of(s);
        ASSERT_LT(c, ps::max_class_count) << s;
        ASSERT_GE(ps::class_size(c), s) << s;
        if (c > 0) {
            ASSERT_LT(ps::class_size(c - 1), s) << s;
        }
        const std::size_t waste = ps::class_size(c) - s;
        if (s <= 64) {
            ASSERT_LT(waste, 16u) << s;
        } else {
            ASSERT_LT(waste * 5, ps::class_size(c)) << s;  // < 20%
        }
    }
}

TEST(pool_set, shadow_model) {
    for (std::uint64_t seed : seeds()) {
        std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
        pool_set<> p;
        EXPECT_EQ(heapkit::testing::run_shadow_model(p, seed, 4000), "");
    }
}

TEST(pool_set, routes_by_size_and_alignment) {
    pool_set<> p;  // classes up to 1024
    EXPECT_EQ(p.max_small(), 1024u);
    EXPECT_EQ(p.class_count(), pool_set<>::class_of(1024) + 1);
    EXPECT_EQ(p.route(lay(20)), pool_set<>::class_of(32));
    EXPECT_EQ(p.route(lay(20, 64)), pool_set<>::class_of(64));
    EXPECT_EQ(p.route(lay(100, 64)), pool_set<>::class_of(128));
    EXPECT_EQ(p.route(lay(1025)), p.class_count());
    EXPECT_EQ(p.route(lay(8, 2048)), p.class_count());
    EXPECT_EQ(p.route(lay(0)), p.class_count());

    auto a = p.allocate(lay(20));
    ASSERT_TRUE(a);
    EXPECT_EQ(a.size, 32u);
    EXPECT_EQ(p.class_pool(pool_set<>::class_of(32)).stats().live_blocks, 1u);
    EXPECT_TRUE(p.class_pool(pool_set<>::class_of(32)).owns(a.ptr));

    for (std::size_t align = 1; align <= 1024; align *= 2) {
        for (std::size_t size : {std::size_t{1}, std::size_t{24}, std::size_t{100}, std::size_t{700}}) {
            auto b = p.allocate(lay(size, align));
            ASSERT_TRUE(b);
            EXPECT_TRUE(heapkit::is_aligned(b.ptr, align)) << size << " " << align;
            p.deallocate(b.ptr, lay(size, align));
        }
    }

    auto big = p.allocate(lay(5000));
    ASSERT_TRUE(big);
    EXPECT_EQ(p.parent().stats().live_blocks, 1u);
    EXPECT_EQ(p.parent().stats().live_bytes, 5000u);
    p.deallocate(big.ptr, lay(5000));
    EXPECT_EQ(p.parent().stats().live_blocks, 0u);
    p.deallocate(a.ptr, lay(20));
}

TEST(pool_set, a_smaller_max_sends_more_to_the_parent) {
    pool_set<> p(100);
    EXPECT_EQ(p.max_small(), 112u);
    auto b = p.allocate(lay(120));
    ASSERT_TRUE(b);
    EXPECT_EQ(p.parent().stats().live_blocks, 1u);
    p.deallocate(b.ptr, lay(120));
}

TEST(pool_set, grow_within_a_class_keeps_the_pointer) {
    pool_set<> p;
    auto a = p.allocate(lay(100));
    ASSERT_TRUE(a);
    heapkit::testing::fill(a.ptr, 100, 8);
    auto g = p.grow(a.ptr, lay(100), lay(112));
    EXPECT_EQ(g.ptr, a.ptr);
    auto moved = p.grow(g.ptr, lay(112), lay(500));  // another class: copied
    ASSERT_TRUE(moved);
    EXPECT_NE(moved.ptr, a.ptr);
    EXPECT_EQ(heapkit::testing::first_mismatch(moved.ptr, 100, 8), 100u);
    auto large = p.grow(moved.ptr, lay(500), lay(100000));  // to the parent
    ASSERT_TRUE(large);
    EXPECT_EQ(heapkit::testing::first_mismatch(large.ptr, 100, 8), 100u);
    auto larger = p.grow(large.ptr, lay(100000), lay(400000));  // the parent's grow (mremap)
    ASSERT_TRUE(larger);
    EXPECT_EQ(heapkit::testing::first_mismatch(larger.ptr, 100, 8), 100u);
    EXPECT_EQ(p.stats().live_bytes, 400000u);
    EXPECT_EQ(p.stats().live_blocks, 1u);
    auto back = p.shrink(larger.ptr, lay(400000), lay(50));
    ASSERT_TRUE(back);
    EXPECT_EQ(heapkit::testing::first_mismatch(back.ptr, 50, 8), 50u);
    EXPECT_EQ(p.parent().stats().live_blocks, 0u);
    EXPECT_EQ(p.stats().live_bytes, 50u);
    p.deallocate(back.ptr, lay(50));
}

TEST(pool_set, stats_combine_the_pools_and_the_parent) {
    pool_set<> p;
    auto a = p.allocate(lay(20));     // class 32
    auto b = p.allocate(lay(100));    // class 112
    auto c = p.allocate(lay(5000));   // parent: 2 pages
    auto z = p.allocate(lay(0, 16));  // no memory
    ASSERT_TRUE(a && b && c && z);
    const auto s = p.stats();
    EXPECT_EQ(s.live_bytes, 5120u);
    EXPECT_EQ(s.live_blocks, 4u);
    EXPECT_EQ(s.peak_bytes, 5120u);
    const std::size_t chunk32 = std::max<std::size_t>(4096, 8 * 32), chunk112 = 8 * 112 <= 4096 ? 4096 : 8192;
    EXPECT_EQ(s.held_bytes, chunk32 + chunk112 + 8192);
    EXPECT_EQ(s.slack_bytes, (32 - 20) + (112 - 100) + (8192 - 5000u));
    const std::size_t free32 = ((chunk32 - 24) / 32 - 1) * 32, free112 = ((chunk112 - 24) / 112 - 1) * 112;
    EXPECT_EQ(s.free_bytes, free32 + free112);
    EXPECT_EQ(s.largest_free, 112u);
    p.deallocate(c.ptr, lay(5000));
    p.deallocate(z.ptr, lay(0, 16));
    EXPECT_EQ(p.stats().live_bytes, 120u);
    EXPECT_EQ(p.stats().live_blocks, 2u);
    EXPECT_EQ(p.stats().peak_bytes, 5120u);
    p.deallocate(a.ptr, lay(20));
    p.deallocate(b.ptr, lay(100));
}

TEST(pool, an_impossible_block_size_fails_every_request_as_a_value) {
    heapkit::pool<> huge(SIZE_MAX);
    EXPECT_FALSE(huge.allocate(heapkit::layout::from_unchecked(64, 8)));
    EXPECT_EQ(huge.stats().live_blocks, 0u);
    heapkit::pool<> odd(64, 3);  // 3 is not a power of two
    EXPECT_FALSE(odd.allocate(heapkit::layout::from_unchecked(64, 1)));
    EXPECT_EQ(odd.stats().held_bytes, 0u);
}
