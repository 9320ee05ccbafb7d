#include <heapkit/alloc/pages.hpp>
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/counting.hpp>
#include <heapkit/compose/fallback.hpp>
#include <heapkit/compose/locked.hpp>

#include "compose/test_allocators.hpp"
#include "conformance.hpp"
#include "shadow_model.hpp"

#include <cstdio>
#include <type_traits>

using heapkit::counting;
using heapkit::fallback;
using heapkit::layout;
using heapkit::locked;
using heapkit::memory_block;
using sys = heapkit::system;
using heapkit::testing::fixed_buffer;

using buffered = fallback<fixed_buffer<1 << 16>, counting<sys>>;

HEAPKIT_CONFORMANCE(locked_system, locked<sys>);
HEAPKIT_CONFORMANCE(locked_pages, locked<heapkit::pages>);
HEAPKIT_CONFORMANCE(locked_buffered, locked<buffered>);

namespace {
layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }
}  // namespace

// A locked allocator can be a constant-initialised global (it may serve operator new before main).
constinit locked<sys> global_locked;
constinit heapkit::detail::futex_lock global_lock;
static_assert(std::is_trivially_destructible_v<locked<sys>>);
static_assert(std::is_trivially_destructible_v<heapkit::detail::futex_lock>);
static_assert(sizeof(heapkit::detail::futex_lock) == 4);
// Every capability of the inner allocator is forwarded, and no other.
static_assert(heapkit::has_grow<locked<sys>> && heapkit::has_shrink<locked<sys>>);
static_assert(heapkit::has_allocate_zeroed<locked<sys>> && heapkit::has_usable_size<locked<sys>>);
static_assert(!heapkit::has_owns<locked<sys>> && !heapkit::has_stats<locked<sys>>);
static_assert(heapkit::has_owns<locked<fixed_buffer<64>>> && heapkit::has_stats<locked<fixed_buffer<64>>>);
static_assert(heapkit::has_deallocate_all<locked<fixed_buffer<64>>>);
static_assert(!heapkit::has_deallocate_all<locked<sys>>);

TEST(locked, shadow_model) {
    const std::uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
    std::printf("locked shadow model seed %llu\n", static_cast<unsigned long long>(seed));
    locked<fallback<fixed_buffer<1 << 14>, counting<sys>>> a;
    EXPECT_EQ(heapkit::testing::run_shadow_model(a, seed, 20000), "");
}

TEST(locked, forwards_every_call_to_the_inner_allocator) {
    locked<fixed_buffer<4096>> a;
    memory_block b = a.allocate(lay(100));
    ASSERT_TRUE(b);
    EXPECT_TRUE(a.owns(b.ptr));
    EXPECT_EQ(a.stats().live_bytes, 100u);
    memory_block g = a.grow(b.ptr, lay(100), lay(200));  // in place: the inner allocator can
    ASSERT_TRUE(g);
    EXPECT_EQ(g.ptr, b.ptr);
    memory_block s = a.shrink(g.ptr, lay(200), lay(50));
    ASSERT_TRUE(s);
    EXPECT_EQ(s.ptr, b.ptr);
    EXPECT_EQ(a.usable_size(s.ptr, lay(50)), 50u);
    EXPECT_EQ(a.stats().live_bytes, 50u);
    a.deallocate_all();
    EXPECT_EQ(a.stats().live_blocks, 0u);
    EXPECT_EQ(a.inner().stats().live_blocks, 0u);
}

TEST(locked, with_lock_runs_steps_as_one_critical_section) {
    locked<fixed_buffer<4096>> a;
    const std::size_t live = a.with_lock([](fixed_buffer<4096>& inner) {
        memory_block x = inner.allocate(lay(10));
        memory_block y = inner.allocate(lay(20));
        inner.deallocate(y.ptr, lay(20));
        inner.deallocate(x.ptr, lay(10));
        return inner.stats().live_blocks;
    });
    EXPECT_EQ(live, 0u);
}

TEST(locked, the_lock_excludes_and_releases) {
    heapkit::detail::futex_lock l;
    EXPECT_TRUE(l.try_lock());
    EXPECT_FALSE(l.try_lock());
    l.unlock();
    l.lock();
    EXPECT_FALSE(l.try_lock());
    l.unlock();
    EXPECT_TRUE(l.try_lock());
    l.unlock();
}

TEST(locked, a_global_serves_allocations) {
    memory_block b = global_locked.allocate(lay(64));
    ASSERT_TRUE(b);
    global_locked.deallocate(b.ptr, lay(64));
    global_lock.lock();
    global_lock.unlock();
}
