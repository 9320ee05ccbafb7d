#include <heapkit/alloc/buddy.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "conformance.hpp"
#include "fixed_buffer.hpp"
#include "seeds.hpp"
#include "shadow_model.hpp"

namespace {
using heapkit::layout;
using heapkit::testing::allocate_until_exhausted;
using heapkit::testing::fill;
using heapkit::testing::first_mismatch;
using heapkit::testing::on_buffer;

// A buffer that holds an arena of 2^k bytes and its bitmap (1 bit per 16 bytes).
constexpr std::size_t buffer_for(std::size_t arena) { return arena + arena / 128 + 64; }

using buddy_buffer = on_buffer<heapkit::buddy<>, buffer_for(std::size_t{16} << 20)>;
using small_buddy = on_buffer<heapkit::buddy<>, buffer_for(4096)>;

layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }

std::size_t offset(const small_buddy& a, const void* p) {
    return static_cast<std::size_t>(static_cast<const std::byte*>(p) - a.arena().data());
}

using heapkit::testing::seeds;
}  // namespace

namespace heapkit::testing {
template <>
struct conformance_traits<buddy_buffer> {
    static std::unique_ptr<buddy_buffer> make() { return std::make_unique<buddy_buffer>(); }
    static constexpr std::size_t max_block = std::size_t{1} << 20;
    static constexpr std::size_t max_align = std::size_t{1} << 16;
    static constexpr bool always_fails = false;
};
}  // namespace heapkit::testing

HEAPKIT_CONFORMANCE(buddy, heapkit::buddy<>);
HEAPKIT_CONFORMANCE(buddy_buffer, buddy_buffer);

TEST(buddy, shadow_model_over_the_parent) {
    for (std::uint64_t seed : seeds()) {
        std::printf("buddy shadow model over pages, seed %llu\n", static_cast<unsigned long long>(seed));
        heapkit::buddy<> a(std::size_t{64} << 20);
        EXPECT_EQ(heapkit::testing::run_shadow_model(a, seed, 20000), "");
        EXPECT_EQ(a.stats().free_bytes, std::size_t{64} << 20);  // all merged back
    }
}

TEST(buddy, shadow_model_over_a_buffer_that_runs_out) {
    for (std::uint64_t seed : seeds()) {
        std::printf("buddy shadow model over a 1 MiB arena, seed %llu\n", static_cast<unsigned long long>(seed));
        on_buffer<heapkit::buddy<>, buffer_for(std::size_t{1} << 20)> a;
        ASSERT_EQ(a.arena().size(), std::size_t{1} << 20);
        EXPECT_EQ(heapkit::testing::run_shadow_model(a, seed, 20000), "");
        EXPECT_EQ(a.stats().largest_free, std::size_t{1} << 20);
        EXPECT_EQ(a.free_blocks(20), 1u);
    }
}

TEST(buddy, order_for_rounds_size_and_alignment_up_to_a_power_of_two) {
    using b = heapkit::buddy<>;
    EXPECT_EQ(b::order_for(lay(1, 1)), 4u);  // the least block, 16 bytes
    EXPECT_EQ(b::order_for(lay(16)), 4u);
    EXPECT_EQ(b::order_for(lay(17)), 5u);
    EXPECT_EQ(b::order_for(lay(100, 256)), 8u);  // the alignment decides
    EXPECT_EQ(b::order_for(lay(4096)), 12u);
    EXPECT_EQ(b::order_for(lay(4097)), 13u);
    EXPECT_GT(b::order_for(lay(layout::max_size_for(8))), b::max_order);
}

TEST(buddy, split_and_merge_walk_the_orders) {
    small_buddy a;
    ASSERT_EQ(a.arena().size(), 4096u);
    EXPECT_EQ(a.free_blocks(12), 1u);
    auto x = a.allocate(lay(10));  // splits 4096 down to 16: one free block of each order 4..11 remains
    ASSERT_TRUE(x);
    EXPECT_EQ(x.size, 16u);
    EXPECT_EQ(offset(a, x.ptr), 0u);
    for (unsigned k = 4; k <= 11; ++k) EXPECT_EQ(a.free_blocks(k), 1u) << "order " << k;
    EXPECT_EQ(a.free_blocks(12), 0u);
    EXPECT_EQ(a.stats().free_bytes, 4096u - 16u);
    EXPECT_EQ(a.stats().largest_free, 2048u);

    auto y = a.allocate(lay(16));  // x's buddy: offset 0 ^ 16
    ASSERT_TRUE(y);
    EXPECT_EQ(offset(a, y.ptr), 16u);
    EXPECT_EQ(a.free_blocks(4), 0u);

    a.deallocate(x.ptr, lay(10));  // its buddy is live: no merge
    EXPECT_EQ(a.free_blocks(4), 1u);
    EXPECT_EQ(a.free_blocks(12), 0u);
    a.deallocate(y.ptr, lay(16));  // merges all the way up
    for (unsigned k = 4; k <= 11; ++k) EXPECT_EQ(a.free_blocks(k), 0u) << "order " << k;
    EXPECT_EQ(a.free_blocks(12), 1u);
    EXPECT_EQ(a.stats().largest_free, 4096u);
}

TEST(buddy, buddies_are_found_by_xor) {
    small_buddy a;
    auto b64a = a.allocate(lay(64));
    auto b64b = a.allocate(lay(64));
    auto b128 = a.allocate(lay(128));
    auto b256 = a.allocate(lay(200));
    auto b1k = a.allocate(lay(1000));
    ASSERT_TRUE(b64a && b64b && b128 && b256 && b1k);
    EXPECT_EQ(offset(a, b64a.ptr), 0u);
    EXPECT_EQ(offset(a, b64b.ptr), 0u ^ 64u);   // buddy of [0, 64) at order 6
    EXPECT_EQ(offset(a, b128.ptr), 0u ^ 128u);  // buddy of the pair [0, 128) at order 7
    EXPECT_EQ(offset(a, b256.ptr), 0u ^ 256u);  // order 8
    EXPECT_EQ(offset(a, b1k.ptr), 0u ^ 1024u);  // order 10; [512, 1024) stays free
    EXPECT_EQ(a.free_blocks(9), 1u);
    EXPECT_EQ(a.free_blocks(11), 1u);
    // every block is aligned to its own size within the arena
    for (auto* p : {b64a.ptr, b64b.ptr, b128.ptr, b256.ptr, b1k.ptr}) {
        const std::size_t o = offset(a, p);
        const std::size_t size = o == 0 || o == 64 ? 64 : o;
        EXPECT_EQ(o % size, 0u);
    }
    // freeing the middle ones cannot merge past a live buddy
    a.deallocate(b128.ptr, lay(128));
    EXPECT_EQ(a.free_blocks(7), 1u);
    a.deallocate(b64a.ptr, lay(64));
    a.deallocate(b64b.ptr, lay(64));  // [0,64)+[64,128) -> [0,128), + [128,256) -> [0,256)
    EXPECT_EQ(a.free_blocks(6), 0u);
    EXPECT_EQ(a.free_blocks(7), 0u);
    EXPECT_EQ(a.free_blocks(8), 1u);
    a.deallocate(b256.ptr, lay(200));  // -> [0,512), + free [512,1024) -> [0,1024)
    EXPECT_EQ(a.free_blocks(10), 1u);
    a.deallocate(b1k.ptr, lay(1000));
    EXPECT_EQ(a.free_blocks(12), 1u);
}

TEST(buddy, grow_merges_free_right_buddies_in_place_and_shrink_splits) {
    small_buddy a;
    auto x = a.allocate(lay(50));  // order 6 at 0; [64,128), [128,256), ... free
    ASSERT_TRUE(x);
    fill(x.ptr, 50, 4);
    auto g = a.grow(x.ptr, lay(50), lay(200));  // order 8: takes [64,128) and [128,256)
    ASSERT_TRUE(g);
    EXPECT_EQ(g.ptr, x.ptr);
    EXPECT_EQ(g.size, 256u);
    EXPECT_EQ(first_mismatch(g.ptr, 50, 4), 50u);
    EXPECT_EQ(a.free_blocks(6), 0u);
    EXPECT_EQ(a.free_blocks(7), 0u);
    auto y = a.allocate(lay(256));  // lands at 256, the right buddy of x
    ASSERT_TRUE(y);
    EXPECT_EQ(offset(a, y.ptr), 256u);
    auto m = a.grow(g.ptr, lay(200), lay(400));  // the buddy is live: moves
    ASSERT_TRUE(m);
    EXPECT_NE(m.ptr, x.ptr);
    EXPECT_EQ(first_mismatch(m.ptr, 50, 4), 50u);
    auto s = a.shrink(m.ptr, lay(400), lay(20));  // 512 -> 32: frees 32, 64, 128, 256 on the right
    ASSERT_TRUE(s);
    EXPECT_EQ(s.ptr, m.ptr);
    EXPECT_EQ(s.size, 32u);
    EXPECT_EQ(first_mismatch(s.ptr, 20, 4), 20u);
    for (unsigned k = 5; k <= 8; ++k) EXPECT_GE(a.free_blocks(k), 1u) << "order " << k;
    a.deallocate(s.ptr, lay(20));
    a.deallocate(y.ptr, lay(256));
    EXPECT_EQ(a.free_blocks(12), 1u);
    EXPECT_EQ(a.stats().free_bytes, 4096u);
}

TEST(buddy, exhausted_arena_fails_with_a_value_and_recovers) {
    small_buddy a;
    std::vector<void*> blocks = allocate_until_exhausted(a, lay(100));  // 128-byte blocks: exactly 32 fit
    ASSERT_EQ(blocks.size(), 32u);
    EXPECT_EQ(a.stats().free_bytes, 0u);
    EXPECT_FALSE(a.allocate(lay(1)));
    EXPECT_FALSE(a.allocate(lay(8192)));  // larger than the arena
    EXPECT_FALSE(a.grow(blocks[5], lay(100), lay(1000)));
    EXPECT_EQ(first_mismatch(blocks[5], 100, 5), 100u);
    auto z = a.allocate(lay(0, 4096));  // zero-size requests still succeed
    ASSERT_TRUE(z);
    EXPECT_TRUE(heapkit::is_aligned(z.ptr, 4096));
    a.deallocate(z.ptr, lay(0, 4096));
    a.deallocate(blocks[9], lay(100));
    auto again = a.allocate(lay(100));
    ASSERT_TRUE(again);
    EXPECT_EQ(again.ptr, blocks[9]);
    fill(again.ptr, 100, 9);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        EXPECT_EQ(first_mismatch(blocks[i], 100, i), 100u);
        a.deallocate(blocks[i], lay(100));
    }
    EXPECT_EQ(a.free_blocks(12), 1u);
}

TEST(buddy, stats_are_exact) {
    small_buddy a;
    auto s = a.stats();
    EXPECT_EQ(s.held_bytes, buffer_for(4096));
    EXPECT_EQ(s.free_bytes, 4096u);
    EXPECT_EQ(s.largest_free, 4096u);
    auto x = a.allocate(lay(100));  // 128
    auto y = a.allocate(lay(600));  // 1024
    auto z = a.allocate(lay(0, 64));
    ASSERT_TRUE(x && y && z);
    s = a.stats();
    EXPECT_EQ(s.live_bytes, 700u);
    EXPECT_EQ(s.live_blocks, 3u);
    EXPECT_EQ(s.slack_bytes, 28u + 424u);
    EXPECT_EQ(s.free_bytes, 4096u - 128u - 1024u);
    EXPECT_EQ(s.largest_free, 2048u);
    EXPECT_DOUBLE_EQ(s.external_fragmentation(), 1.0 - 2048.0 / 2944.0);
    EXPECT_DOUBLE_EQ(s.internal_fragmentation(), 452.0 / 1152.0);
    EXPECT_EQ(a.usable_size(x.ptr, lay(100)), 128u);
    a.deallocate(y.ptr, lay(600));
    a.deallocate(z.ptr, lay(0, 64));
    s = a.stats();
    EXPECT_EQ(s.live_bytes, 100u);
    EXPECT_EQ(s.live_blocks, 1u);
    EXPECT_EQ(s.peak_bytes, 700u);
    EXPECT_EQ(s.slack_bytes, 28u);
    a.deallocate_all();
    s = a.stats();
    EXPECT_EQ(s.live_blocks, 0u);
    EXPECT_EQ(s.free_bytes, 4096u);
    EXPECT_EQ(s.peak_bytes, 700u);
}

TEST(buddy, the_arena_comes_from_the_parent_on_first_use) {
    heapkit::buddy<> a(std::size_t{1} << 20);
    EXPECT_EQ(a.stats().held_bytes, 0u);
    EXPECT_TRUE(a.arena().empty());
    auto x = a.allocate(lay(1));
    ASSERT_TRUE(x);
    EXPECT_EQ(a.arena().size(), std::size_t{1} << 20);
    EXPECT_TRUE(heapkit::is_aligned(a.arena().data(), std::size_t{1} << 20));  // aligned to its size
    EXPECT_EQ(a.stats().held_bytes, (std::size_t{1} << 20) + 8192);            // arena + bitmap (1 bit per 16 B)
    EXPECT_TRUE(a.owns(x.ptr));
    int local = 0;
    EXPECT_FALSE(a.owns(&local));
    auto big = a.allocate(lay(std::size_t{1} << 19, std::size_t{1} << 19));  // aligned to its size
    ASSERT_TRUE(big);
    EXPECT_TRUE(heapkit::is_aligned(big.ptr, std::size_t{1} << 19));
    EXPECT_FALSE(a.allocate(lay(std::size_t{1} << 19)));  // the other half is split: full
    a.deallocate(big.ptr, lay(std::size_t{1} << 19, std::size_t{1} << 19));
    a.deallocate(x.ptr, lay(1));
    EXPECT_EQ(a.stats().largest_free, std::size_t{1} << 20);
}

#ifndef NDEBUG
void free_foreign() {
    small_buddy a;
    int local = 0;
    a.allocate(lay(8));
    a.deallocate(&local, lay(4));
}
void free_twice() {
    small_buddy a;
    heapkit::testing::free_twice(a);
}

TEST(buddy_death, a_foreign_pointer_or_double_free_is_reported) {
    EXPECT_DEATH(free_foreign(),
                 "buddy::deallocate\\(\\): block 0x[0-9a-f]+ of 4 bytes aligned to 8 is not in this buddy's arena");
    EXPECT_DEATH(free_twice(), "is already free");
}
#endif
