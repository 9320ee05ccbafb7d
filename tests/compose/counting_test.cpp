// heapkit::counting<A>: the conformance suite over several parents, and the
// exact figures it reports after a known sequence of calls.
#include <heapkit/alloc/null.hpp>
#include <heapkit/alloc/pages.hpp>
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/counting.hpp>
#include <heapkit/compose/tracing.hpp>

#include "conformance.hpp"

#include <type_traits>

namespace heapkit::testing {
template <>
struct conformance_traits<counting<null>> {
    static std::unique_ptr<counting<null>> make() { return std::make_unique<counting<null>>(); }
    static constexpr std::size_t max_block = 0;
    static constexpr std::size_t max_align = 1;
    static constexpr bool always_fails = true;
};
}  // namespace heapkit::testing

HEAPKIT_CONFORMANCE(counting_system, heapkit::counting<heapkit::system>);
HEAPKIT_CONFORMANCE(counting_pages, heapkit::counting<heapkit::pages>);
HEAPKIT_CONFORMANCE(counting_null, heapkit::counting<heapkit::null>);

namespace {

using heapkit::counting;
using heapkit::counting_snapshot;
using heapkit::layout;
using heapkit::memory_block;
using heapkit::testing::fill;
using heapkit::testing::first_mismatch;

layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }

// A layout no machine can serve (a valid layout, so the parent is asked).
layout huge() { return lay(layout::max_size_for(16), 16); }

// It can be a constinit global that serves operator new before main and after exit.
constinit counting<heapkit::system> constant_initialised;
static_assert(std::is_trivially_destructible_v<counting<heapkit::system>>);
static_assert(heapkit::has_stats<counting<heapkit::system>> && heapkit::has_grow<counting<heapkit::system>> &&
              heapkit::has_shrink<counting<heapkit::system>> &&
              heapkit::has_allocate_zeroed<counting<heapkit::system>>);
// owns() exists exactly when the parent has it.
static_assert(heapkit::has_owns<counting<heapkit::null>>);
static_assert(!heapkit::has_owns<counting<heapkit::system>>);

TEST(counting, starts_at_zero) {
    counting<heapkit::system> c;
    const counting_snapshot s = c.snapshot();
    EXPECT_EQ(s.allocations, 0u);
    EXPECT_EQ(s.deallocations, 0u);
    EXPECT_EQ(s.reallocations, 0u);
    EXPECT_EQ(s.failures, 0u);
    EXPECT_EQ(s.bytes_allocated, 0u);
    EXPECT_EQ(s.bytes_freed, 0u);
    EXPECT_EQ(s.peak_bytes, 0u);
    EXPECT_EQ(s.calls(), 0u);
    const counting_snapshot g = constant_initialised.snapshot();
    EXPECT_EQ(g.calls(), 0u);
}

TEST(counting, exact_figures_after_a_known_sequence) {
    counting<heapkit::system> c;

    memory_block a = c.allocate(lay(100));
    ASSERT_TRUE(a);
    memory_block z = c.allocate_zeroed(lay(50, 16));
    ASSERT_TRUE(z);
    fill(a.ptr, 100, 3);
    memory_block g = c.grow(a.ptr, lay(100), lay(300));  // live 100 + 50 -> 300 + 50
    ASSERT_TRUE(g);
    EXPECT_EQ(first_mismatch(g.ptr, 100, 3), 100u);
    memory_block s = c.shrink(g.ptr, lay(300), lay(20));  // live -> 20 + 50
    ASSERT_TRUE(s);
    EXPECT_EQ(first_mismatch(s.ptr, 20, 3), 20u);
    EXPECT_FALSE(c.allocate(huge()));                  // failure 1
    EXPECT_FALSE(c.allocate_zeroed(huge()));           // failure 2
    EXPECT_FALSE(c.grow(z.ptr, lay(50, 16), huge()));  // failure 3, z stays valid

    counting_snapshot mid = c.snapshot();
    EXPECT_EQ(mid.allocations, 2u);
    EXPECT_EQ(mid.deallocations, 0u);
    EXPECT_EQ(mid.reallocations, 2u);
    EXPECT_EQ(mid.failures, 3u);
    EXPECT_EQ(mid.bytes_allocated, 100u + 50u + 300u + 20u);
    EXPECT_EQ(mid.bytes_freed, 100u + 300u);
    EXPECT_EQ(mid.live_bytes(), 70u);
    EXPECT_EQ(mid.live_blocks(), 2u);
    EXPECT_EQ(mid.peak_bytes, 350u);
    EXPECT_EQ(mid.calls(), 7u);

    c.deallocate(s.ptr, lay(20));
    c.deallocate(z.ptr, lay(50, 16));

    const counting_snapshot end = c.snapshot();
    EXPECT_EQ(end.allocations, 2u);
    EXPECT_EQ(end.deallocations, 2u);
    EXPECT_EQ(end.reallocations, 2u);
    EXPECT_EQ(end.failures, 3u);
    EXPECT_EQ(end.bytes_allocated, 470u);
    EXPECT_EQ(end.bytes_freed, 470u);
    EXPECT_EQ(end.live_bytes(), 0u);
    EXPECT_EQ(end.live_blocks(), 0u);
    EXPECT_EQ(end.peak_bytes, 350u);
    EXPECT_EQ(end.calls(), 9u);

    // stats() tells the same story.
    const heapkit::allocator_stats st = c.stats();
    EXPECT_EQ(st.live_bytes, 0u);
    EXPECT_EQ(st.live_blocks, 0u);
    EXPECT_EQ(st.peak_bytes, 350u);
}

TEST(counting, since_is_the_change_between_snapshots) {
    counting<heapkit::system> c;
    memory_block keep = c.allocate(lay(1000));
    ASSERT_TRUE(keep);
    const counting_snapshot before = c.snapshot();

    memory_block a = c.allocate(lay(10));
    memory_block b = c.allocate(lay(20));
    ASSERT_TRUE(a && b);
    memory_block a2 = c.grow(a.ptr, lay(10), lay(40));
    ASSERT_TRUE(a2);
    c.deallocate(b.ptr, lay(20));
    EXPECT_FALSE(c.allocate(huge()));

    const counting_snapshot d = c.snapshot().since(before);
    EXPECT_EQ(d.allocations, 2u);
    EXPECT_EQ(d.deallocations, 1u);
    EXPECT_EQ(d.reallocations, 1u);
    EXPECT_EQ(d.failures, 1u);
    EXPECT_EQ(d.bytes_allocated, 10u + 20u + 40u);
    EXPECT_EQ(d.bytes_freed, 10u + 20u);
    EXPECT_EQ(d.live_bytes(), 40u);  // only what this stretch left behind
    EXPECT_EQ(d.live_blocks(), 1u);
    EXPECT_EQ(d.calls(), 5u);
    // the peak is the absolute one, not a difference: 1000 + 10 + 20 then 1000 + 40 + 20
    EXPECT_EQ(d.peak_bytes, 1060u);

    c.deallocate(a2.ptr, lay(40));
    c.deallocate(keep.ptr, lay(1000));
    EXPECT_EQ(c.snapshot().live_bytes(), 0u);
}

TEST(counting, peak_survives_grow_then_free) {
    // A grow past the flush threshold moves live bytes to the shared total;
    // the peak must still be the largest live total, and stay after the free.
    counting<heapkit::system> c;
    memory_block b = c.allocate(lay(1000));
    ASSERT_TRUE(b);
    EXPECT_EQ(c.snapshot().peak_bytes, 1000u);
    memory_block g = c.grow(b.ptr, lay(1000), lay(300000));
    ASSERT_TRUE(g);
    memory_block small = c.allocate(lay(7));
    ASSERT_TRUE(small);
    c.deallocate(g.ptr, lay(300000));
    c.deallocate(small.ptr, lay(7));
    const counting_snapshot s = c.snapshot();
    EXPECT_EQ(s.live_bytes(), 0u);
    EXPECT_EQ(s.peak_bytes, 300007u);
    EXPECT_EQ(s.reallocations, 1u);
    EXPECT_EQ(s.bytes_allocated, 1000u + 300000u + 7u);
}

TEST(counting, peak_is_exact_in_one_thread_for_many_small_blocks) {
    // Many blocks below the flush threshold, then freed: the peak is their sum.
    counting<heapkit::system> c;
    std::vector<void*> blocks;
    std::size_t total = 0;
    for (std::size_t i = 1; i <= 500; ++i) {
        memory_block b = c.allocate(lay(i));
        ASSERT_TRUE(b);
        blocks.push_back(b.ptr);
        total += i;
    }
    for (std::size_t i = 1; i <= 500; ++i) c.deallocate(blocks[i - 1], lay(i));
    const counting_snapshot s = c.snapshot();
    EXPECT_EQ(total, 125250u);  // larger than flush_bytes, so batches were flushed on the way
    EXPECT_EQ(s.peak_bytes, total);
    EXPECT_EQ(s.live_bytes(), 0u);
    EXPECT_EQ(s.allocations, 500u);
    EXPECT_EQ(s.deallocations, 500u);
}

TEST(counting, failures_of_the_parent_are_counted_not_allocations) {
    counting<heapkit::null> c;
    EXPECT_FALSE(c.allocate(lay(8)));
    EXPECT_FALSE(c.allocate_zeroed(lay(8)));
    const counting_snapshot s = c.snapshot();
    EXPECT_EQ(s.failures, 2u);
    EXPECT_EQ(s.allocations, 0u);
    EXPECT_EQ(s.bytes_allocated, 0u);
    EXPECT_EQ(s.peak_bytes, 0u);
    int on_stack = 0;
    EXPECT_FALSE(c.owns(&on_stack));  // forwarded to null::owns
}

TEST(counting, zero_size_blocks_are_counted_as_blocks) {
    counting<heapkit::system> c;
    memory_block b = c.allocate(lay(0));
    ASSERT_TRUE(b);
    EXPECT_EQ(c.snapshot().live_blocks(), 1u);
    EXPECT_EQ(c.snapshot().live_bytes(), 0u);
    c.deallocate(b.ptr, lay(0));
    EXPECT_EQ(c.snapshot().live_blocks(), 0u);
}

TEST(counting, in_place_builds_the_parent_and_forwards_to_it) {
    counting<heapkit::tracing<heapkit::system>> c(std::in_place, -1);
    EXPECT_EQ(c.inner().fd(), -1);
    memory_block b = c.allocate(lay(64));
    ASSERT_TRUE(b);
    EXPECT_GE(c.usable_size(b.ptr, lay(64)), 64u);
    c.deallocate(b.ptr, lay(64));
    EXPECT_EQ(c.snapshot().allocations, 1u);
}

TEST(counting, pages_parent_reports_held_bytes_through_stats) {
    counting<heapkit::pages> c;
    memory_block b = c.allocate(lay(10));
    ASSERT_TRUE(b);
    const heapkit::allocator_stats s = c.stats();
    EXPECT_EQ(s.live_bytes, 10u);
    EXPECT_EQ(s.live_blocks, 1u);
    EXPECT_EQ(s.held_bytes, heapkit::pages::page_size());  // from the parent
    c.deallocate(b.ptr, lay(10));
}

}  // namespace
