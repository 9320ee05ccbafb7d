#include <heapkit/alloc/null.hpp>
#include <heapkit/alloc/pages.hpp>
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/counting.hpp>
#include <heapkit/compose/fallback.hpp>
#include <heapkit/compose/segregator.hpp>

#include "compose/test_allocators.hpp"
#include "conformance.hpp"
#include "shadow_model.hpp"

#include <cstdio>
#include <type_traits>

using heapkit::counting;
using heapkit::fallback;
using heapkit::layout;
using heapkit::memory_block;
using heapkit::segregator;
using sys = heapkit::system;
using heapkit::testing::fill;
using heapkit::testing::first_mismatch;
using heapkit::testing::fixed_buffer;

using segregator_buffered_pages_t = segregator<256, fallback<fixed_buffer<1 << 16>, sys>, heapkit::pages>;
HEAPKIT_CONFORMANCE(segregator_buffered_pages, segregator_buffered_pages_t);
using segregator_counting_pages_t = segregator<1024, counting<sys>, heapkit::pages>;
HEAPKIT_CONFORMANCE(segregator_counting_pages, segregator_counting_pages_t);
using segregator_tree_t =
    segregator<64, counting<sys>, segregator<4096, fallback<fixed_buffer<1 << 15>, counting<sys>>, heapkit::pages>>;
HEAPKIT_CONFORMANCE(segregator_tree, segregator_tree_t);

namespace {
layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }

using two_counters = segregator<128, counting<sys>, counting<sys>>;
}  // namespace

constinit segregator<128, sys, heapkit::null> global_segregator;
static_assert(std::is_empty_v<segregator<128, sys, sys>>);
static_assert(std::is_trivially_destructible_v<segregator<128, sys, sys>>);
static_assert(heapkit::has_stats<segregator<64, counting<sys>, heapkit::pages>>);
static_assert(!heapkit::has_stats<segregator<64, counting<sys>, sys>>);
static_assert(heapkit::has_owns<segregator<64, fixed_buffer<64>, fixed_buffer<128>>>);
static_assert(!heapkit::has_owns<two_counters>);
static_assert(two_counters::is_small(0) && two_counters::is_small(128) && !two_counters::is_small(129));

TEST(segregator, shadow_model) {
    const std::uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
    std::printf("segregator shadow model seed %llu\n", static_cast<unsigned long long>(seed));
    segregator<512, counting<sys>, heapkit::pages> a;
    EXPECT_EQ(heapkit::testing::run_shadow_model(a, seed, 10000), "");
    segregator<256, fallback<fixed_buffer<1 << 14>, counting<sys>>, counting<sys>> b;
    EXPECT_EQ(heapkit::testing::run_shadow_model(b, seed + 1, 20000), "");
}

TEST(segregator, routes_by_size) {
    two_counters a;
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{127}, std::size_t{128}}) {
        memory_block b = a.allocate(lay(n));
        ASSERT_TRUE(b);
        a.deallocate(b.ptr, lay(n));
    }
    for (std::size_t n : {std::size_t{129}, std::size_t{4096}, std::size_t{1} << 20}) {
        memory_block b = heapkit::allocate_zeroed(a, lay(n));
        ASSERT_TRUE(b);
        a.deallocate(b.ptr, lay(n));
    }
    EXPECT_EQ(a.small().snapshot().allocations, 4u);
    EXPECT_EQ(a.small().snapshot().deallocations, 4u);
    EXPECT_EQ(a.large().snapshot().allocations, 3u);
    EXPECT_EQ(a.large().snapshot().deallocations, 3u);
}

TEST(segregator, small_blocks_never_look_larger_than_the_threshold) {
    // pages hands out a whole page; reporting it would let a caller free the
    // block with a size that routes to the large side.
    segregator<100, heapkit::pages, sys> a;
    memory_block b = a.allocate(lay(10));
    ASSERT_TRUE(b);
    EXPECT_EQ(b.size, 100u);
    EXPECT_EQ(a.usable_size(b.ptr, lay(10)), 100u);
    a.deallocate(b.ptr, lay(100));  // the largest size the caller may pass back
    EXPECT_EQ(a.small().stats().live_blocks, 0u);
}

TEST(segregator, grow_across_the_threshold_moves_the_block) {
    two_counters a;
    memory_block b = a.allocate(lay(100));
    ASSERT_TRUE(b);
    fill(b.ptr, 100, 1);
    memory_block g = a.grow(b.ptr, lay(100), lay(120));  // still small
    ASSERT_TRUE(g);
    EXPECT_EQ(a.large().snapshot().calls(), 0u);
    fill(g.ptr, 120, 2);
    memory_block h = a.grow(g.ptr, lay(120), lay(1000));  // to the large side
    ASSERT_TRUE(h);
    EXPECT_EQ(first_mismatch(h.ptr, 120, 2), 120u);
    EXPECT_EQ(a.small().snapshot().live_blocks(), 0u);
    EXPECT_EQ(a.large().snapshot().live_blocks(), 1u);
    fill(h.ptr, 1000, 3);
    memory_block s = a.shrink(h.ptr, lay(1000), lay(50));  // and back
    ASSERT_TRUE(s);
    EXPECT_EQ(first_mismatch(s.ptr, 50, 3), 50u);
    EXPECT_EQ(a.small().snapshot().live_blocks(), 1u);
    EXPECT_EQ(a.large().snapshot().live_blocks(), 0u);
    a.deallocate(s.ptr, lay(50));
    EXPECT_EQ(a.small().snapshot().live_blocks(), 0u);
}

TEST(segregator, a_failed_move_keeps_the_block) {
    segregator<128, sys, heapkit::null> a;
    memory_block b = a.allocate(lay(64));
    ASSERT_TRUE(b);
    fill(b.ptr, 64, 9);
    EXPECT_FALSE(a.grow(b.ptr, lay(64), lay(200)));
    EXPECT_FALSE(a.allocate(lay(200)));
    EXPECT_EQ(first_mismatch(b.ptr, 64, 9), 64u);
    a.deallocate(b.ptr, lay(64));
}

TEST(segregator, nested_segregators_form_size_classes) {
    segregator<16, counting<sys>, segregator<256, counting<sys>, counting<sys>>> a;
    auto use = [&](std::size_t n) {
        memory_block b = a.allocate(lay(n));
        ASSERT_TRUE(b);
        a.deallocate(b.ptr, lay(n));
    };
    for (std::size_t n : {0, 16}) use(n);
    for (std::size_t n : {17, 100, 256}) use(n);
    for (std::size_t n : {257, 10000}) use(n);
    EXPECT_EQ(a.small().snapshot().allocations, 2u);
    EXPECT_EQ(a.large().small().snapshot().allocations, 3u);
    EXPECT_EQ(a.large().large().snapshot().allocations, 2u);
    EXPECT_EQ(a.stats().live_blocks, 0u);
}

TEST(segregator, owns_asks_both_parts) {
    segregator<64, fixed_buffer<256>, fixed_buffer<4096>> a;
    memory_block x = a.allocate(lay(10));
    memory_block y = a.allocate(lay(1000));
    ASSERT_TRUE(x && y);
    EXPECT_TRUE(a.small().owns(x.ptr));
    EXPECT_TRUE(a.large().owns(y.ptr));
    EXPECT_TRUE(a.owns(x.ptr) && a.owns(y.ptr));
    a.deallocate_all();
    EXPECT_EQ(a.stats().live_blocks, 0u);
}
