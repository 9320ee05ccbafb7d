#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/bucketizer.hpp>
#include <heapkit/compose/counting.hpp>
#include <heapkit/compose/fallback.hpp>
#include <heapkit/compose/segregator.hpp>

#include "compose/test_allocators.hpp"
#include "conformance.hpp"
#include "shadow_model.hpp"

#include <cstdio>
#include <type_traits>

using heapkit::bucketizer;
using heapkit::counting;
using heapkit::layout;
using heapkit::linear_bucketizer;
using heapkit::memory_block;
using heapkit::segregator;
using sys = heapkit::system;
using heapkit::testing::fill;
using heapkit::testing::first_mismatch;
using heapkit::testing::fixed_buffer;

namespace {
using listed = bucketizer<counting<sys>, 16, 32, 64, 256, 1024, 4096>;
using linear = linear_bucketizer<counting<sys>, 64, 1024, 64>;
using full_range = segregator<1024, linear, counting<sys>>;
using buffered = bucketizer<heapkit::fallback<fixed_buffer<4096>, counting<sys>>, 8, 24, 100, 4096>;
layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }
}  // namespace

namespace heapkit::testing {
// A bucketizer alone serves sizes up to its last bound only.
template <class A, std::size_t... Bounds>
struct conformance_traits<bucketizer<A, Bounds...>> {
    using B = bucketizer<A, Bounds...>;
    static std::unique_ptr<B> make() { return std::make_unique<B>(); }
    static constexpr std::size_t max_block = B::max_size;
    static constexpr std::size_t max_align = std::size_t{1} << 16;
    static constexpr bool always_fails = false;
};
}  // namespace heapkit::testing

HEAPKIT_CONFORMANCE(bucketizer_listed, listed);
HEAPKIT_CONFORMANCE(bucketizer_buffered, buffered);
HEAPKIT_CONFORMANCE(bucketizer_behind_segregator, full_range);

static_assert(listed::bucket_count == 6 && listed::max_size == 4096);
static_assert(linear::bucket_count == 16 && linear::bound(0) == 64 && linear::bound(15) == 1024);
static_assert(std::is_same_v<linear_bucketizer<sys, 8, 24, 8>, bucketizer<sys, 8, 16, 24>>);
static_assert(listed::bucket_of(0) == 0 && listed::bucket_of(16) == 0 && listed::bucket_of(17) == 1);
static_assert(listed::bucket_of(4096) == 5 && listed::bucket_of(4097) == listed::npos);
static_assert(linear::bucket_of(65) == 1 && linear::bucket_of(1024) == 15 && linear::bucket_of(1025) == linear::npos);
static_assert(std::is_trivially_destructible_v<bucketizer<sys, 16, 32>>);
static_assert(heapkit::has_stats<bucketizer<sys, 16, 32>>);
static_assert(heapkit::has_owns<bucketizer<fixed_buffer<64>, 16, 32>> && !heapkit::has_owns<listed>);
static_assert(heapkit::has_deallocate_all<bucketizer<fixed_buffer<64>, 16, 32>>);
constinit bucketizer<sys, 16, 32, 64> global_bucketizer;

// Every size from 0 to past the last bound lands in the bucket whose range
// holds it, both by bucket_of and by where allocate really goes.
template <class B>
void check_every_boundary() {
    auto b = std::make_unique<B>();
    std::vector<std::size_t> sizes = {0};
    for (std::size_t k = 0; k < B::bucket_count; ++k) {
        for (std::size_t d : {std::size_t{1}, std::size_t{0}}) sizes.push_back(B::bound(k) - d);
        sizes.push_back(B::bound(k) + 1);
    }
    for (std::size_t n : sizes) {
        std::size_t want = B::npos;
        for (std::size_t k = 0; k < B::bucket_count; ++k) {
            if (n <= B::bound(k)) {
                want = k;
                break;
            }
        }
        ASSERT_EQ(B::bucket_of(n), want) << "size " << n;
        if (want == B::npos) {
            EXPECT_FALSE(b->allocate(lay(n))) << "size " << n << " is above the last bound";
            continue;
        }
        const std::size_t before = b->bucket(want).snapshot().allocations;
        memory_block m = b->allocate(lay(n));
        ASSERT_TRUE(m) << "size " << n;
        EXPECT_EQ(m.size, B::bound(want)) << "size " << n;
        EXPECT_EQ(b->bucket(want).snapshot().allocations, before + 1) << "size " << n << " went to another bucket";
        EXPECT_EQ(b->bucket(want).snapshot().bytes_allocated - b->bucket(want).snapshot().bytes_freed, B::bound(want))
            << "the bucket sees the class size";
        EXPECT_EQ(b->usable_size(m.ptr, lay(n)), B::bound(want));
        b->deallocate(m.ptr, lay(n));
        EXPECT_EQ(b->bucket(want).snapshot().live_blocks(), 0u);
    }
}

TEST(bucketizer, every_boundary_picks_the_right_bucket) {
    check_every_boundary<listed>();
    check_every_boundary<linear>();
    check_every_boundary<bucketizer<counting<sys>, 1, 2, 3, 5, 8, 13, 21>>();
    check_every_boundary<bucketizer<counting<sys>, 100>>();
}

TEST(bucketizer, shadow_model) {
    const std::uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
    std::printf("bucketizer shadow model seed %llu\n", static_cast<unsigned long long>(seed));
    auto a = std::make_unique<full_range>();
    EXPECT_EQ(heapkit::testing::run_shadow_model(*a, seed, 20000, {.max_size = 1 << 14}), "");
    auto b = std::make_unique<listed>();  // requests above 4096 fail, as the model allows
    EXPECT_EQ(heapkit::testing::run_shadow_model(*b, seed + 1, 20000, {.max_size = 1 << 13}), "");
    auto c = std::make_unique<buffered>();
    EXPECT_EQ(heapkit::testing::run_shadow_model(*c, seed + 2, 20000, {.max_size = 4096}), "");
}

TEST(bucketizer, grow_within_a_bucket_is_free_and_across_buckets_moves) {
    listed a;
    memory_block b = a.allocate(lay(40));  // bucket 2 (33..64)
    ASSERT_TRUE(b);
    fill(b.ptr, 40, 4);
    const std::size_t calls = a.bucket(2).snapshot().calls();
    memory_block g = a.grow(b.ptr, lay(40), lay(64));
    ASSERT_TRUE(g);
    EXPECT_EQ(g.ptr, b.ptr);
    EXPECT_EQ(a.bucket(2).snapshot().calls(), calls) << "a grow inside the class calls nobody";
    EXPECT_EQ(first_mismatch(g.ptr, 40, 4), 40u);
    fill(g.ptr, 64, 5);
    memory_block h = a.grow(g.ptr, lay(64), lay(65));  // bucket 3
    ASSERT_TRUE(h);
    EXPECT_EQ(first_mismatch(h.ptr, 64, 5), 64u);
    EXPECT_EQ(a.bucket(2).snapshot().live_blocks(), 0u);
    EXPECT_EQ(a.bucket(3).snapshot().live_blocks(), 1u);
    memory_block s = a.shrink(h.ptr, lay(65), lay(3));  // bucket 0
    ASSERT_TRUE(s);
    EXPECT_EQ(first_mismatch(s.ptr, 3, 5), 3u);
    EXPECT_EQ(a.bucket(0).snapshot().live_blocks(), 1u);
    EXPECT_EQ(a.bucket(3).snapshot().live_blocks(), 0u);
    EXPECT_FALSE(a.grow(s.ptr, lay(3), lay(5000))) << "above the last bound";
    EXPECT_EQ(first_mismatch(s.ptr, 3, 5), 3u);
    a.deallocate(s.ptr, lay(3));
}

TEST(bucketizer, stats_report_requested_bytes_and_rounding_as_slack) {
    listed a;
    memory_block x = a.allocate(lay(17));    // class 32
    memory_block y = a.allocate(lay(1000));  // class 1024
    ASSERT_TRUE(x && y);
    heapkit::allocator_stats s = a.stats();
    EXPECT_EQ(s.live_bytes, 1017u);
    EXPECT_EQ(s.live_blocks, 2u);
    EXPECT_EQ(s.slack_bytes, (32u - 17u) + (1024u - 1000u));
    EXPECT_GT(s.internal_fragmentation(), 0.0);
    a.deallocate(x.ptr, lay(17));
    a.deallocate(y.ptr, lay(1000));
    s = a.stats();
    EXPECT_EQ(s.live_bytes, 0u);
    EXPECT_EQ(s.peak_bytes, 1017u);
}

TEST(bucketizer, buckets_share_a_parent_through_the_in_place_constructor) {
    counting<sys> parent;
    struct by_ref {
        counting<sys>* p;
        explicit by_ref(counting<sys>* q) noexcept : p(q) {}
        memory_block allocate(layout l) noexcept { return p->allocate(l); }
        void deallocate(void* q, layout l) noexcept { p->deallocate(q, l); }
    };
    bucketizer<by_ref, 32, 64> a(std::in_place, &parent);
    memory_block x = a.allocate(lay(10));
    memory_block y = a.allocate(lay(50));
    ASSERT_TRUE(x && y);
    EXPECT_EQ(parent.snapshot().allocations, 2u);
    EXPECT_EQ(parent.snapshot().live_bytes(), 32u + 64u);
    a.deallocate(x.ptr, lay(10));
    a.deallocate(y.ptr, lay(50));
    EXPECT_EQ(parent.snapshot().live_blocks(), 0u);
}

TEST(bucketizer, deallocate_all_empties_every_bucket) {
    bucketizer<fixed_buffer<1024>, 16, 64, 256> a;
    for (std::size_t n : {1, 20, 200, 16, 64}) ASSERT_TRUE(a.allocate(lay(n)));
    EXPECT_EQ(a.stats().live_blocks, 5u);
    a.deallocate_all();
    EXPECT_EQ(a.stats().live_blocks, 0u);
    EXPECT_EQ(a.stats().live_bytes, 0u);
    for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(a.bucket(k).stats().live_blocks, 0u);
}

TEST(bucketizerDeathTest, freeing_a_size_no_bucket_serves_aborts) {
    listed a;
    memory_block b = a.allocate(lay(100));
    ASSERT_TRUE(b);
    EXPECT_DEATH(a.deallocate(b.ptr, lay(5000)),
                 "bucketizer::deallocate\\(\\): block 0x[0-9a-f]+ of 5000 bytes is "
                 "larger than the largest bucket \\(4096 bytes\\)");
    a.deallocate(b.ptr, lay(100));
}
