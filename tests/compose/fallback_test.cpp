#include <heapkit/alloc/null.hpp>
#include <heapkit/alloc/pages.hpp>
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/counting.hpp>
#include <heapkit/compose/fallback.hpp>

#include "compose/test_allocators.hpp"
#include "conformance.hpp"
#include "shadow_model.hpp"

#include <cstdio>
#include <type_traits>
#include <vector>

using heapkit::counting;
using heapkit::fallback;
using heapkit::layout;
using heapkit::memory_block;
using sys = heapkit::system;
using heapkit::testing::fill;
using heapkit::testing::first_mismatch;
using heapkit::testing::fixed_buffer;

using fallback_fixed_system_t = fallback<fixed_buffer<1 << 16>, sys>;
HEAPKIT_CONFORMANCE(fallback_fixed_system, fallback_fixed_system_t);
using fallback_fixed_counting_t = fallback<fixed_buffer<4096>, counting<sys>>;
HEAPKIT_CONFORMANCE(fallback_fixed_counting, fallback_fixed_counting_t);
using fallback_fixed_pages_t = fallback<fixed_buffer<1 << 16>, heapkit::pages>;
HEAPKIT_CONFORMANCE(fallback_fixed_pages, fallback_fixed_pages_t);
using fallback_null_system_t = fallback<heapkit::null, sys>;
HEAPKIT_CONFORMANCE(fallback_null_system, fallback_null_system_t);

namespace {
layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }

using small_then_counted = fallback<fixed_buffer<1024>, counting<sys>>;

// Answers zero-size requests with heapkit::dangling, does not claim it, and
// counts it (as bump, pool and buddy do).
struct placeholder_for_zero {
    fixed_buffer<1024> inner;
    std::size_t zero_blocks = 0;
    memory_block allocate(layout l) noexcept {
        if (l.size() == 0) {
            ++zero_blocks;
            return {heapkit::dangling(l.align()), 0};
        }
        return inner.allocate(l);
    }
    void deallocate(void* p, layout l) noexcept {
        if (l.size() == 0) {
            --zero_blocks;
        } else {
            inner.deallocate(p, l);
        }
    }
    bool owns(const void* p) const noexcept { return inner.owns(p); }
};
}  // namespace

// The wrapper costs nothing and can be a constant-initialised global.
constinit fallback<heapkit::null, sys> global_fallback;
static_assert(std::is_trivially_destructible_v<fallback<heapkit::null, sys>>);
static_assert(std::is_nothrow_default_constructible_v<small_then_counted>);
// Capabilities: owns only when both parts have it; stats only when both keep figures.
static_assert(!heapkit::has_owns<fallback<fixed_buffer<64>, sys>>);
static_assert(heapkit::has_owns<fallback<fixed_buffer<64>, fixed_buffer<64>>>);
static_assert(!heapkit::has_stats<fallback<fixed_buffer<64>, sys>>);
static_assert(heapkit::has_stats<small_then_counted>);
static_assert(heapkit::has_deallocate_all<fallback<fixed_buffer<64>, fixed_buffer<64>>>);
static_assert(!heapkit::has_deallocate_all<small_then_counted>);

TEST(fallback, shadow_model) {
    const std::uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
    std::printf("fallback shadow model seed %llu\n", static_cast<unsigned long long>(seed));
    fallback<fixed_buffer<1 << 14>, counting<sys>> a;
    EXPECT_EQ(heapkit::testing::run_shadow_model(a, seed, 20000), "");
    fallback<fixed_buffer<1 << 14>, counting<heapkit::pages>> b;
    EXPECT_EQ(heapkit::testing::run_shadow_model(b, seed + 1, 5000), "");
}

TEST(fallback, uses_the_secondary_when_the_primary_is_exhausted) {
    small_then_counted a;
    std::vector<memory_block> blocks;
    // 100-byte blocks: the first ones come from the 1 KiB buffer, then the system.
    for (int i = 0; i < 20; ++i) {
        memory_block b = a.allocate(lay(100));
        ASSERT_TRUE(b);
        fill(b.ptr, 100, static_cast<std::size_t>(i));
        blocks.push_back(b);
    }
    std::size_t in_primary = 0;
    for (const memory_block& b : blocks) in_primary += a.primary().owns(b.ptr) ? 1 : 0;
    EXPECT_GT(in_primary, 0u);
    EXPECT_LT(in_primary, blocks.size());
    EXPECT_TRUE(a.primary().owns(blocks.front().ptr));
    EXPECT_FALSE(a.primary().owns(blocks.back().ptr));
    EXPECT_EQ(a.secondary().snapshot().allocations, blocks.size() - in_primary);
    EXPECT_EQ(a.stats().live_blocks, blocks.size());
    EXPECT_EQ(a.stats().live_bytes, blocks.size() * 100);
    for (std::size_t i = 0; i < blocks.size(); ++i) EXPECT_EQ(first_mismatch(blocks[i].ptr, 100, i), 100u);
    for (const memory_block& b : blocks) a.deallocate(b.ptr, lay(100));
    EXPECT_EQ(a.stats().live_blocks, 0u);
}

TEST(fallback, frees_are_routed_by_owns) {
    small_then_counted a;
    memory_block in_buffer = a.allocate(lay(64));
    memory_block too_big = a.allocate(lay(4096));  // larger than the buffer: the system serves it
    ASSERT_TRUE(in_buffer && too_big);
    ASSERT_TRUE(a.primary().owns(in_buffer.ptr));
    ASSERT_FALSE(a.primary().owns(too_big.ptr));

    a.deallocate(in_buffer.ptr, lay(64));
    EXPECT_EQ(a.secondary().snapshot().deallocations, 0u) << "a primary block went to the secondary";
    EXPECT_EQ(a.primary().stats().live_blocks, 0u);

    a.deallocate(too_big.ptr, lay(4096));
    EXPECT_EQ(a.secondary().snapshot().deallocations, 1u);
    EXPECT_EQ(a.secondary().snapshot().live_blocks(), 0u);
}

TEST(fallback, grow_stays_in_the_primary_while_it_can) {
    small_then_counted a;
    memory_block b = a.allocate(lay(16));
    ASSERT_TRUE(b);
    fill(b.ptr, 16, 7);
    memory_block g = a.grow(b.ptr, lay(16), lay(512));  // the last block of the buffer grows in place
    ASSERT_TRUE(g);
    EXPECT_EQ(g.ptr, b.ptr);
    EXPECT_EQ(first_mismatch(g.ptr, 16, 7), 16u);
    EXPECT_EQ(a.secondary().snapshot().calls(), 0u);
    a.deallocate(g.ptr, lay(512));
}

TEST(fallback, grow_moves_a_block_the_primary_cannot_hold_to_the_secondary) {
    small_then_counted a;
    memory_block b = a.allocate(lay(300));
    ASSERT_TRUE(b);
    ASSERT_TRUE(a.primary().owns(b.ptr));
    fill(b.ptr, 300, 3);
    memory_block g = a.grow(b.ptr, lay(300), lay(5000));
    ASSERT_TRUE(g);
    EXPECT_FALSE(a.primary().owns(g.ptr));
    EXPECT_EQ(first_mismatch(g.ptr, 300, 3), 300u);
    EXPECT_EQ(a.primary().stats().live_blocks, 0u) << "the old block stays in the primary";
    EXPECT_EQ(a.secondary().snapshot().live_blocks(), 1u);
    // and from then on the block lives in the secondary
    memory_block s = a.shrink(g.ptr, lay(5000), lay(10));
    ASSERT_TRUE(s);
    EXPECT_EQ(first_mismatch(s.ptr, 10, 3), 10u);
    a.deallocate(s.ptr, lay(10));
    EXPECT_EQ(a.secondary().snapshot().live_blocks(), 0u);
}

TEST(fallback, a_failed_grow_leaves_the_block_where_it_was) {
    fallback<fixed_buffer<1024>, heapkit::null> a;
    memory_block b = a.allocate(lay(200));
    ASSERT_TRUE(b);
    fill(b.ptr, 200, 11);
    EXPECT_FALSE(a.grow(b.ptr, lay(200), lay(5000)));
    EXPECT_EQ(first_mismatch(b.ptr, 200, 11), 200u);
    EXPECT_EQ(a.primary().stats().live_bytes, 200u);
    a.deallocate(b.ptr, lay(200));
}

TEST(fallback, owns_is_either_part) {
    fallback<fixed_buffer<256>, fixed_buffer<256>> a;
    memory_block x = a.allocate(lay(200));
    memory_block y = a.allocate(lay(200));  // does not fit the first buffer any more
    ASSERT_TRUE(x && y);
    EXPECT_TRUE(a.primary().owns(x.ptr));
    EXPECT_TRUE(a.secondary().owns(y.ptr));
    EXPECT_TRUE(a.owns(x.ptr));
    EXPECT_TRUE(a.owns(y.ptr));
    int on_stack = 0;
    EXPECT_FALSE(a.owns(&on_stack));
    a.deallocate_all();
    EXPECT_EQ(a.stats().live_blocks, 0u);
}

TEST(fallback, zero_size_placeholders_go_back_to_the_part_that_made_them) {
    // The primary answers size 0 with heapkit::dangling and does not claim it;
    // passing it to the system's free() would crash.
    fallback<placeholder_for_zero, counting<sys>> a;
    memory_block z = a.allocate(lay(0, 64));
    ASSERT_TRUE(z);
    EXPECT_EQ(z.ptr, heapkit::dangling(64));
    EXPECT_EQ(a.primary().zero_blocks, 1u);
    EXPECT_EQ(heapkit::usable_size(a, z.ptr, lay(0, 64)), 0u);
    a.deallocate(z.ptr, lay(0, 64));
    EXPECT_EQ(a.primary().zero_blocks, 0u);
    z = a.allocate(lay(0, 64));
    memory_block g = a.grow(z.ptr, lay(0, 64), lay(100, 64));
    ASSERT_TRUE(g);
    EXPECT_TRUE(heapkit::is_aligned(g.ptr, 64));
    a.deallocate(g.ptr, lay(100, 64));
    EXPECT_EQ(a.primary().zero_blocks, 0u);
    EXPECT_EQ(a.secondary().snapshot().calls(), 0u);

    // A primary that never makes placeholders leaves them to the secondary (pages makes them).
    fallback<fixed_buffer<64>, counting<heapkit::pages>> b;
    memory_block full = b.allocate(lay(64));
    ASSERT_TRUE(full);
    memory_block p = b.allocate(lay(0, 16));  // the buffer is full: pages answers
    ASSERT_TRUE(p);
    EXPECT_EQ(p.ptr, heapkit::dangling(16));
    EXPECT_EQ(b.secondary().snapshot().live_blocks(), 1u);
    b.deallocate(p.ptr, lay(0, 16));
    EXPECT_EQ(b.secondary().snapshot().live_blocks(), 0u);
    b.deallocate(full.ptr, lay(64));
}
