#include <heapkit/alloc/tlsf.hpp>

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
using heapkit::tlsf_class;
using heapkit::testing::allocate_until_exhausted;
using heapkit::testing::fill;
using heapkit::testing::first_mismatch;
using heapkit::testing::on_buffer;
using T = heapkit::tlsf<>;

using tlsf_buffer = on_buffer<heapkit::tlsf<>, std::size_t{16} << 20>;

layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }

// The smallest block size filed in list c.
std::size_t list_start(tlsf_class c) {
    if (c.fl == 0) return std::size_t{c.sl} * 16;
    return (std::size_t{1} << (c.fl + 8)) + std::size_t{c.sl} * (std::size_t{1} << (c.fl + 3));
}

using heapkit::testing::seeds;
}  // namespace

namespace heapkit::testing {
template <>
struct conformance_traits<tlsf_buffer> {
    static std::unique_ptr<tlsf_buffer> make() { return std::make_unique<tlsf_buffer>(); }
    static constexpr std::size_t max_block = std::size_t{1} << 20;
    static constexpr std::size_t max_align = std::size_t{1} << 16;
    static constexpr bool always_fails = false;
};
}  // namespace heapkit::testing

HEAPKIT_CONFORMANCE(tlsf, heapkit::tlsf<>);
HEAPKIT_CONFORMANCE(tlsf_buffer, tlsf_buffer);

TEST(tlsf, shadow_model_over_the_parent) {
    for (std::uint64_t seed : seeds()) {
        std::printf("tlsf shadow model over pages, seed %llu\n", static_cast<unsigned long long>(seed));
        heapkit::tlsf<> a;
        EXPECT_EQ(heapkit::testing::run_shadow_model(a, seed, 20000), "");
    }
}

TEST(tlsf, shadow_model_over_a_buffer_that_runs_out) {
    for (std::uint64_t seed : seeds()) {
        std::printf("tlsf shadow model over a 1 MiB buffer, seed %llu\n", static_cast<unsigned long long>(seed));
        on_buffer<heapkit::tlsf<>, std::size_t{1} << 20> a;
        EXPECT_EQ(heapkit::testing::run_shadow_model(a, seed, 20000), "");
        const auto s = a.stats();
        EXPECT_EQ(s.free_bytes, s.largest_free);  // coalesced back into one block
        EXPECT_EQ(s.free_bytes, (std::size_t{1} << 20) - T::region_overhead - T::header_bytes);
    }
}

TEST(tlsf, mapping_at_the_class_boundaries) {
    // row 0: exact 16-byte lists below 512
    EXPECT_EQ(T::mapping(16), (tlsf_class{0, 1}));
    EXPECT_EQ(T::mapping(32), (tlsf_class{0, 2}));
    EXPECT_EQ(T::mapping(496), (tlsf_class{0, 31}));
    EXPECT_EQ(T::mapping(511), (tlsf_class{0, 31}));
    // row 1: [512, 1024) in lists of 16
    EXPECT_EQ(T::mapping(512), (tlsf_class{1, 0}));
    EXPECT_EQ(T::mapping(527), (tlsf_class{1, 0}));
    EXPECT_EQ(T::mapping(528), (tlsf_class{1, 1}));
    EXPECT_EQ(T::mapping(1023), (tlsf_class{1, 31}));
    // row 2: [1024, 2048) in lists of 32
    EXPECT_EQ(T::mapping(1024), (tlsf_class{2, 0}));
    EXPECT_EQ(T::mapping(1055), (tlsf_class{2, 0}));
    EXPECT_EQ(T::mapping(1056), (tlsf_class{2, 1}));
    EXPECT_EQ(T::mapping(2047), (tlsf_class{2, 31}));
    // 1 MiB: row 12, lists of 32 KiB
    EXPECT_EQ(T::mapping(std::size_t{1} << 20), (tlsf_class{12, 0}));
    EXPECT_EQ(T::mapping((std::size_t{1} << 20) + (std::size_t{1} << 15) - 1), (tlsf_class{12, 0}));
    EXPECT_EQ(T::mapping((std::size_t{1} << 20) + (std::size_t{1} << 15)), (tlsf_class{12, 1}));
    EXPECT_EQ(T::mapping((std::size_t{1} << 41) - 1), (tlsf_class{32, 31}));
    EXPECT_EQ(T::mapping(std::size_t{1} << 41), (tlsf_class{33, 0}));
}

TEST(tlsf, mapping_search_rounds_up_to_the_next_list) {
    EXPECT_EQ(T::mapping_search(100), (tlsf_class{0, 7}));  // 112: every block there holds 100
    EXPECT_EQ(T::mapping_search(512), (tlsf_class{1, 0}));
    EXPECT_EQ(T::mapping_search(513), (tlsf_class{1, 1}));
    EXPECT_EQ(T::mapping_search(528), (tlsf_class{1, 1}));
    EXPECT_EQ(T::mapping_search(529), (tlsf_class{1, 2}));
    EXPECT_EQ(T::mapping_search(1023), (tlsf_class{2, 0}));
    EXPECT_EQ(T::mapping_search(1024), (tlsf_class{2, 0}));
    EXPECT_EQ(T::mapping_search(1025), (tlsf_class{2, 1}));
    // the defining properties, over a range of sizes: a size lies in its list,
    // and every block of the searched list is at least as large
    for (std::size_t s = 16; s < (std::size_t{1} << 22); s += 1 + s / 61) {
        const tlsf_class c = T::mapping(s);
        EXPECT_LE(list_start(c), s) << s;
        const tlsf_class next = c.sl + 1 < T::sl_count ? tlsf_class{c.fl, c.sl + 1} : tlsf_class{c.fl + 1, 0};
        EXPECT_GT(list_start(next), s) << s;
        EXPECT_GE(list_start(T::mapping_search(s)), s) << s;
        // good fit wastes at most one list width, 1/32 of the size
        EXPECT_LE(list_start(T::mapping_search(s)) - s, s < 512 ? 15 : s / 32) << s;
    }
}

TEST(tlsf, good_fit_skips_a_block_that_only_might_fit) {
    // A 1040-byte free block is in list [1024, 1056); a request for a
    // 1040-byte block searches from [1056, ...), so it takes the larger
    // hole: no list is ever walked. Once no larger block is left, the head
    // of the request's own list is tried.
    on_buffer<heapkit::tlsf<>, 8192> a;
    auto h1 = a.allocate(lay(1024));  // block 1040
    auto g1 = a.allocate(lay(16));
    auto h2 = a.allocate(lay(2032));  // block 2048
    auto g2 = a.allocate(lay(16));
    auto rest = a.allocate(lay(a.stats().largest_free));
    ASSERT_TRUE(h1 && g1 && h2 && g2 && rest);
    a.deallocate(h1.ptr, lay(1024));
    a.deallocate(h2.ptr, lay(2032));
    auto x = a.allocate(lay(1024));
    EXPECT_EQ(x.ptr, h2.ptr);
    auto y = a.allocate(lay(1024));  // nothing at or above [1056, ...) now: the own list's head fits
    EXPECT_EQ(y.ptr, h1.ptr);
}

TEST(tlsf, coalescing_merges_both_neighbours) {
    on_buffer<heapkit::tlsf<>, 4096> a;
    auto pa = a.allocate(lay(100));  // 128
    auto pb = a.allocate(lay(200));  // 224
    auto pc = a.allocate(lay(300));  // 320
    ASSERT_TRUE(pa && pb && pc);
    const std::size_t rest = a.stats().largest_free;
    auto pd = a.allocate(lay(rest));
    ASSERT_TRUE(pd);
    EXPECT_EQ(a.stats().free_bytes, 0u);
    a.deallocate(pa.ptr, lay(100));
    a.deallocate(pc.ptr, lay(300));
    EXPECT_EQ(a.stats().free_bytes, 112u + 304u);
    a.deallocate(pb.ptr, lay(200));
    EXPECT_EQ(a.stats().free_bytes, 656u);
    EXPECT_EQ(a.stats().largest_free, 656u);
    auto whole = a.allocate(lay(640));  // a 656-byte block: its search list {1, 9} is below the merged 672's {1, 10}
    ASSERT_TRUE(whole);
    EXPECT_EQ(whole.ptr, pa.ptr);
    a.deallocate(whole.ptr, lay(640));
    a.deallocate(pd.ptr, lay(rest));
    EXPECT_EQ(a.stats().largest_free, 4096u - 64u - 16u);
}

// One list holding several blocks: unlinking its head, a middle block, its
// last block (by coalescing) and emptying it entirely must keep the list and
// the bitmaps right (the lists end at a sentinel, not at nullptr).
TEST(tlsf, same_list_unlinks_at_head_middle_and_tail) {
    on_buffer<heapkit::tlsf<>, 8192> a;
    void* p[9];
    for (auto& q : p) {
        q = a.allocate(lay(48)).ptr;  // 64-byte blocks
        ASSERT_NE(q, nullptr);
    }
    // free the even ones: p[0], p[2], p[4], p[6] go into list {0, 4} (LIFO: 6, 4, 2, 0)
    for (int i = 0; i <= 6; i += 2) a.deallocate(p[i], lay(48));
    EXPECT_EQ(a.stats().free_bytes, 4 * 48u + a.stats().largest_free);
    // coalescing p[3] with p[2] and p[4] unlinks a middle block and its successor
    a.deallocate(p[3], lay(48));
    // p[1] merges with the list's last block (p[0]) and with the block p[2..4]
    a.deallocate(p[1], lay(48));
    // only p[6] is left in list {0, 4}: the next 48-byte request gets it, the list empties
    EXPECT_EQ(a.allocate(lay(48)).ptr, p[6]);
    // list {0, 4} is empty now: a 48-byte request must be cut from a larger block, p[0..4] (320 B)
    EXPECT_EQ(a.allocate(lay(48)).ptr, p[0]);
    // the 256-byte rest is in a list of its own; refill and drain list {0, 4} twice
    for (int round = 0; round < 2; ++round) {
        a.deallocate(p[6], lay(48));
        EXPECT_EQ(a.allocate(lay(48)).ptr, p[6]);
    }
    auto rest = a.allocate(lay(240));  // exactly the 256-byte rest
    EXPECT_EQ(rest.ptr, static_cast<char*>(p[0]) + 64);
    a.deallocate(rest.ptr, lay(240));
    for (void* q : {p[0], p[5], p[6], p[7], p[8]}) a.deallocate(q, lay(48));
    EXPECT_EQ(a.stats().live_blocks, 0u);
    EXPECT_EQ(a.stats().largest_free, 8192u - 64u - 16u);
    EXPECT_EQ(a.stats().free_bytes, a.stats().largest_free);
    // after deallocate_all the lists are empty and usable again
    a.deallocate_all();
    auto x = a.allocate(lay(48));
    ASSERT_TRUE(x);
    a.deallocate(x.ptr, lay(48));
    EXPECT_EQ(a.stats().free_bytes, a.stats().largest_free);
}

TEST(tlsf, exhausted_buffer_fails_with_a_value_and_recovers) {
    on_buffer<heapkit::tlsf<>, 64 << 10> a;
    std::vector<void*> blocks = allocate_until_exhausted(a, lay(1000));
    ASSERT_GT(blocks.size(), 50u);
    EXPECT_FALSE(a.grow(blocks[0], lay(1000), lay(60000)));
    EXPECT_EQ(first_mismatch(blocks[0], 1000, 0), 1000u);
    a.deallocate(blocks[7], lay(1000));
    auto again = a.allocate(lay(1000));
    ASSERT_TRUE(again);
    EXPECT_EQ(again.ptr, blocks[7]);
    fill(again.ptr, 1000, 7);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        EXPECT_EQ(first_mismatch(blocks[i], 1000, i), 1000u);
        a.deallocate(blocks[i], lay(1000));
    }
    EXPECT_EQ(a.stats().live_blocks, 0u);
    EXPECT_EQ(a.stats().free_bytes, a.stats().largest_free);
}

TEST(tlsf, stats_are_exact) {
    on_buffer<heapkit::tlsf<>, 4096> a;
    auto x = a.allocate(lay(100));
    auto y = a.allocate(lay(1));
    auto z = a.allocate(lay(100));
    ASSERT_TRUE(x && y && z);
    EXPECT_EQ(y.size, 16u);  // the least block, 32 bytes
    a.deallocate(y.ptr, lay(1));
    const auto s = a.stats();
    EXPECT_EQ(s.held_bytes, 4096u);
    EXPECT_EQ(s.live_bytes, 200u);
    EXPECT_EQ(s.live_blocks, 2u);
    EXPECT_EQ(s.peak_bytes, 201u);
    EXPECT_EQ(s.slack_bytes, 56u);
    const std::size_t tail = 4096 - 64 - 128 - 32 - 128 - 16;
    EXPECT_EQ(s.free_bytes, 16u + tail);
    EXPECT_EQ(s.largest_free, tail);
    EXPECT_DOUBLE_EQ(s.external_fragmentation(), 1.0 - double(tail) / double(16 + tail));
}

TEST(tlsf, grow_in_place_and_pools) {
    heapkit::testing::aligned_buffer pool(std::size_t{1} << 16), more(std::size_t{1} << 16);  // outlive a
    heapkit::tlsf<> a(pool.span());
    auto x = a.allocate(lay(100));
    ASSERT_TRUE(x);
    fill(x.ptr, 100, 2);
    auto g = a.grow(x.ptr, lay(100), lay(30000));  // the free right neighbour is the rest of the pool
    ASSERT_TRUE(g);
    EXPECT_EQ(g.ptr, x.ptr);
    EXPECT_EQ(first_mismatch(g.ptr, 100, 2), 100u);
    EXPECT_FALSE(a.allocate(lay(40000)));  // does not fit in what is left
    EXPECT_TRUE(a.add_pool(more.span()));
    auto y = a.allocate(lay(40000));
    ASSERT_TRUE(y);
    EXPECT_TRUE(a.owns(y.ptr));
    EXPECT_EQ(a.stats().held_bytes, std::size_t{2} << 16);
    a.deallocate(y.ptr, lay(40000));
    auto s = a.shrink(g.ptr, lay(30000), lay(10));
    ASSERT_TRUE(s);
    EXPECT_EQ(s.ptr, x.ptr);
    a.deallocate(s.ptr, lay(10));
    EXPECT_EQ(a.stats().free_bytes, 2 * ((std::size_t{1} << 16) - 64 - 16));
}

#ifndef NDEBUG
void free_with_a_larger_layout() {
    on_buffer<heapkit::tlsf<>, 4096> a;
    auto x = a.allocate(lay(100));
    a.allocate(lay(100));
    a.deallocate(x.ptr, lay(1000));
}

TEST(tlsf_death, a_layout_larger_than_the_block_is_reported) {
    EXPECT_DEATH(
        free_with_a_larger_layout(),
        "tlsf::deallocate\\(\\): block 0x[0-9a-f]+ of 1000 bytes aligned to 8 is smaller than the layout says");
}
#endif
