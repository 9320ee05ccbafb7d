#include <heapkit/alloc/pages.hpp>
#include <heapkit/alloc/system.hpp>
#include <heapkit/compose/affix.hpp>
#include <heapkit/compose/counting.hpp>
#include <heapkit/compose/fallback.hpp>

#include "compose/test_allocators.hpp"
#include "conformance.hpp"
#include "shadow_model.hpp"

#include <cstdio>
#include <cstring>
#include <type_traits>

using heapkit::affix;
using heapkit::canary;
using heapkit::counting;
using heapkit::layout;
using heapkit::memory_block;
using sys = heapkit::system;
using heapkit::testing::fill;
using heapkit::testing::first_mismatch;
using heapkit::testing::fixed_buffer;

namespace {
// The use case: a prefix that remembers the block's size, so the block can be
// freed from its pointer alone (free(p) on top of an allocator that needs the size).
struct size_prefix {
    std::size_t size;
    explicit size_prefix(layout l) noexcept : size(l.size()) {}
};

struct empty_tag {};

struct alignas(32) wide_prefix {
    unsigned char bytes[48];
};

layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }

using sized = affix<sys, size_prefix, canary>;

// free() and realloc() without a size, over any affix with a size_prefix.
template <class A>
void free_by_pointer(A& a, void* p, std::size_t align) {
    a.deallocate(p, lay(A::prefix_of(p, lay(0, align))->size, align));
}
}  // namespace

using affix_size_and_canary_t = affix<sys, size_prefix, canary>;
HEAPKIT_CONFORMANCE(affix_size_and_canary, affix_size_and_canary_t);
using affix_counted_canary_t = affix<counting<sys>, void, canary>;
HEAPKIT_CONFORMANCE(affix_counted_canary, affix_counted_canary_t);
using affix_pages_prefix_t = affix<heapkit::pages, size_prefix, void>;
HEAPKIT_CONFORMANCE(affix_pages_prefix, affix_pages_prefix_t);
HEAPKIT_CONFORMANCE(affix_none, affix<sys>);
using affix_wide_prefix_buffered_t =
    affix<heapkit::fallback<fixed_buffer<1 << 16>, counting<sys>>, wide_prefix, std::uint64_t>;
HEAPKIT_CONFORMANCE(affix_wide_prefix_buffered, affix_wide_prefix_buffered_t);

static_assert(sized::has_prefix && sized::has_suffix);
static_assert(!affix<sys, void, empty_tag>::has_prefix && !affix<sys, void, empty_tag>::has_suffix);
static_assert(heapkit::has_stats<affix<sys>>);
static_assert(heapkit::has_owns<affix<fixed_buffer<64>, canary>> && !heapkit::has_owns<sized>);
static_assert(heapkit::has_deallocate_all<affix<fixed_buffer<64>, canary>>);
static_assert(std::is_trivially_destructible_v<sized>);
constinit affix<sys, size_prefix, canary> global_affix;

TEST(affix, shadow_model) {
    const std::uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
    std::printf("affix shadow model seed %llu\n", static_cast<unsigned long long>(seed));
    affix<counting<sys>, size_prefix, canary> a;
    EXPECT_EQ(heapkit::testing::run_shadow_model(a, seed, 20000), "");
    auto b = std::make_unique<affix<heapkit::fallback<fixed_buffer<1 << 14>, counting<sys>>, wide_prefix, canary>>();
    EXPECT_EQ(heapkit::testing::run_shadow_model(*b, seed + 1, 20000), "");
}

TEST(affix, prefix_and_suffix_sit_around_an_aligned_block) {
    sized a;
    for (std::size_t align : {1, 8, 16, 64, 4096}) {
        for (std::size_t n : {0, 1, 7, 8, 9, 100, 4096}) {
            const layout l = lay(n, align);
            memory_block b = a.allocate(l);
            ASSERT_TRUE(b);
            auto* p = static_cast<unsigned char*>(b.ptr);
            EXPECT_TRUE(heapkit::is_aligned(p, align)) << n << "/" << align;
            EXPECT_EQ(b.size, n) << "with a suffix the block is exactly the request";
            auto* pre = reinterpret_cast<unsigned char*>(sized::prefix_of(p, l));
            auto* suf = reinterpret_cast<unsigned char*>(sized::suffix_of(p, l));
            EXPECT_EQ(pre + sizeof(size_prefix), p) << "the prefix ends where the block starts";
            EXPECT_GE(suf, p + n) << "the suffix starts after the block";
            EXPECT_LT(suf, p + n + alignof(canary));
            EXPECT_TRUE(heapkit::is_aligned(suf, alignof(canary)));
            EXPECT_EQ(sized::prefix_of(p, l)->size, n);
            EXPECT_EQ(sized::suffix_of(p, l)->value, canary::expected);
            EXPECT_EQ(sized::inner_layout(l)->align(), std::max<std::size_t>(align, 8));
            std::memset(p, 0xff, n);  // the whole block is the caller's, the affixes survive
            EXPECT_EQ(sized::prefix_of(p, l)->size, n);
            a.deallocate(p, l);
        }
    }
}

TEST(affix, a_size_prefix_lets_a_block_be_freed_by_pointer) {
    affix<counting<sys>, size_prefix, canary> a;
    memory_block b = a.allocate(lay(300, 16));
    ASSERT_TRUE(b);
    memory_block g = a.grow(b.ptr, lay(300, 16), lay(5000, 16));
    ASSERT_TRUE(g);
    EXPECT_EQ(decltype(a)::prefix_of(g.ptr, lay(5000, 16))->size, 5000u) << "grow rebuilds the prefix";
    memory_block s = a.shrink(g.ptr, lay(5000, 16), lay(42, 16));
    ASSERT_TRUE(s);
    EXPECT_EQ(decltype(a)::prefix_of(s.ptr, lay(42, 16))->size, 42u);
    free_by_pointer(a, s.ptr, 16);
    EXPECT_EQ(a.stats().live_blocks, 0u);
    EXPECT_EQ(a.inner().snapshot().live_bytes(), 0u) << "the inner block was freed with its exact layout";
}

TEST(affix, stats_count_the_callers_bytes_and_the_affixes_as_slack) {
    affix<counting<sys>, size_prefix, canary> a;
    const layout l = lay(100);
    memory_block b = a.allocate(l);
    ASSERT_TRUE(b);
    const heapkit::allocator_stats s = a.stats();
    EXPECT_EQ(s.live_bytes, 100u);
    EXPECT_EQ(s.live_blocks, 1u);
    EXPECT_EQ(s.slack_bytes, decltype(a)::inner_layout(l)->size() - 100u);
    EXPECT_EQ(decltype(a)::inner_layout(l)->size(), 8u + 104u + 8u);
    a.deallocate(b.ptr, l);
}

TEST(affix, no_affix_is_the_inner_allocator) {
    using plain = affix<sys, void, empty_tag>;
    for (std::size_t n : {0, 1, 100}) EXPECT_EQ(*plain::inner_layout(lay(n, 64)), lay(n, 64));
    EXPECT_EQ(plain::prefix_offset(lay(10, 4096)), 0u);
}

TEST(affix, grow_is_in_place_when_the_inner_allocator_can) {
    affix<fixed_buffer<4096>, size_prefix, canary> a;
    memory_block b = a.allocate(lay(10));
    ASSERT_TRUE(b);
    fill(b.ptr, 10, 8);
    memory_block g = a.grow(b.ptr, lay(10), lay(1000));
    ASSERT_TRUE(g);
    EXPECT_EQ(g.ptr, b.ptr);
    EXPECT_EQ(first_mismatch(g.ptr, 10, 8), 10u);
    EXPECT_EQ(decltype(a)::suffix_of(g.ptr, lay(1000))->value, canary::expected);
    EXPECT_TRUE(a.owns(g.ptr));
    a.deallocate(g.ptr, lay(1000));
}

TEST(affix, a_zero_size_block_with_only_a_prefix_lies_inside_the_inner_block) {
    affix<fixed_buffer<64>, size_prefix, void> a;
    memory_block b = a.allocate(lay(0));
    ASSERT_TRUE(b);
    EXPECT_TRUE(a.owns(b.ptr));
    EXPECT_TRUE(a.inner().owns(b.ptr));
    a.deallocate(b.ptr, lay(0));
}

TEST(affixDeathTest, an_overrun_breaks_the_canary) {
    sized a;
    const layout l = lay(24);
    memory_block b = a.allocate(l);
    ASSERT_TRUE(b);
    EXPECT_DEATH(
        {
            std::memset(b.ptr, 'x', 24 + 8);  // eight bytes too many
            a.deallocate(b.ptr, l);
        },
        "heapkit: affix: canary at 0x[0-9a-f]+ next to block 0x[0-9a-f]+ of 24 bytes \\(align 8\\) reads "
        "0x7878787878787878, expected 0xfeedfacecafebeef: the program wrote outside the block");
    a.deallocate(b.ptr, l);  // the parent's block was untouched
}

TEST(affixDeathTest, an_underrun_breaks_a_prefix_canary_on_grow) {
    affix<sys, canary, void> a;
    const layout l = lay(40);
    memory_block b = a.allocate(l);
    ASSERT_TRUE(b);
    EXPECT_DEATH(
        {
            static_cast<unsigned char*>(b.ptr)[-1] = 0;
            (void)a.grow(b.ptr, l, lay(80));
        },
        "canary .* before its start for a prefix canary");
    a.deallocate(b.ptr, l);
}
