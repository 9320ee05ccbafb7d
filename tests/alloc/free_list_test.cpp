#include <heapkit/alloc/free_list.hpp>

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

template <class Policy>
using fl_buffer = on_buffer<heapkit::free_list<Policy>, std::size_t{16} << 20>;

layout lay(std::size_t size, std::size_t align = 8) { return *layout::from(size, align); }

using heapkit::testing::seeds;
}  // namespace

namespace heapkit::testing {
template <class Policy>
struct conformance_traits<fl_buffer<Policy>> {
    static std::unique_ptr<fl_buffer<Policy>> make() { return std::make_unique<fl_buffer<Policy>>(); }
    static constexpr std::size_t max_block = std::size_t{1} << 20;
    static constexpr std::size_t max_align = std::size_t{1} << 16;
    static constexpr bool always_fails = false;
};
}  // namespace heapkit::testing

HEAPKIT_CONFORMANCE(free_list_first_fit, heapkit::free_list<heapkit::first_fit>);
HEAPKIT_CONFORMANCE(free_list_next_fit, heapkit::free_list<heapkit::next_fit>);
HEAPKIT_CONFORMANCE(free_list_best_fit, heapkit::free_list<heapkit::best_fit>);
HEAPKIT_CONFORMANCE(free_list_segregated_fit, heapkit::free_list<heapkit::segregated_fit>);
HEAPKIT_CONFORMANCE(free_list_first_fit_buffer, fl_buffer<heapkit::first_fit>);
HEAPKIT_CONFORMANCE(free_list_segregated_fit_buffer, fl_buffer<heapkit::segregated_fit>);

// ---- every policy: typed tests over a small fixed buffer ----

template <class Policy>
class free_list_policy : public ::testing::Test {};
using policies = ::testing::Types<heapkit::first_fit, heapkit::next_fit, heapkit::best_fit, heapkit::segregated_fit>;
TYPED_TEST_SUITE(free_list_policy, policies);

TYPED_TEST(free_list_policy, shadow_model_over_the_parent) {
    for (std::uint64_t seed : seeds()) {
        std::printf("free_list shadow model over pages, seed %llu\n", static_cast<unsigned long long>(seed));
        heapkit::free_list<TypeParam> a;
        EXPECT_EQ(heapkit::testing::run_shadow_model(a, seed, 20000), "");
        EXPECT_EQ(a.stats().live_blocks, 0u);
    }
}

TYPED_TEST(free_list_policy, shadow_model_over_a_buffer_that_runs_out) {
    for (std::uint64_t seed : seeds()) {
        std::printf("free_list shadow model over 1 MiB buffer, seed %llu\n", static_cast<unsigned long long>(seed));
        on_buffer<heapkit::free_list<TypeParam>, std::size_t{1} << 20> a;
        EXPECT_EQ(heapkit::testing::run_shadow_model(a, seed, 20000), "");
        // everything freed: the buffer is one free block again
        const auto s = a.stats();
        EXPECT_EQ(s.live_bytes, 0u);
        EXPECT_EQ(s.free_bytes, s.largest_free);
        EXPECT_EQ(s.free_bytes, (std::size_t{1} << 20) - heapkit::free_list<TypeParam>::region_overhead - 16);
    }
}

TYPED_TEST(free_list_policy, coalescing_merges_both_neighbours) {
    on_buffer<heapkit::free_list<TypeParam>, 4096> a;
    auto pa = a.allocate(lay(100));  // block of 128
    auto pb = a.allocate(lay(200));  // 224
    auto pc = a.allocate(lay(300));  // 320
    ASSERT_TRUE(pa && pb && pc);
    EXPECT_EQ(static_cast<char*>(pb.ptr), static_cast<char*>(pa.ptr) + 128);
    EXPECT_EQ(static_cast<char*>(pc.ptr), static_cast<char*>(pb.ptr) + 224);
    const std::size_t rest = a.stats().largest_free;
    auto pd = a.allocate(lay(rest));  // the rest of the buffer, so only the merged block can serve
    ASSERT_TRUE(pd);
    EXPECT_EQ(a.stats().free_bytes, 0u);
    a.deallocate(pa.ptr, lay(100));
    a.deallocate(pc.ptr, lay(300));
    EXPECT_EQ(a.stats().free_bytes, 112u + 304u);
    EXPECT_EQ(a.stats().largest_free, 304u);
    a.deallocate(pb.ptr, lay(200));  // merges with both neighbours
    EXPECT_EQ(a.stats().free_bytes, 128u + 224u + 320u - 16u);
    EXPECT_EQ(a.stats().largest_free, 656u);
    auto whole = a.allocate(lay(656));
    ASSERT_TRUE(whole);
    EXPECT_EQ(whole.ptr, pa.ptr);
    EXPECT_EQ(whole.size, 656u);
    a.deallocate(whole.ptr, lay(656));
    a.deallocate(pd.ptr, lay(rest));
    EXPECT_EQ(a.stats().largest_free, 4096u - 64u - 16u);  // one block again
}

TYPED_TEST(free_list_policy, exhausted_buffer_fails_with_a_value_and_recovers) {
    on_buffer<heapkit::free_list<TypeParam>, 64 << 10> a;
    std::vector<void*> blocks = allocate_until_exhausted(a, lay(1000));
    ASSERT_GT(blocks.size(), 50u);
    EXPECT_FALSE(a.allocate(lay(1000)));
    // a failed grow leaves the block as it was
    const std::size_t last = blocks.size() - 1;
    EXPECT_FALSE(a.grow(blocks[last], lay(1000), lay(50000)));
    EXPECT_EQ(first_mismatch(blocks[last], 1000, last), 1000u);
    // zero-size requests still succeed
    auto z = a.allocate(lay(0, 64));
    ASSERT_TRUE(z);
    a.deallocate(z.ptr, lay(0, 64));
    // after a free, the space is there again
    a.deallocate(blocks[3], lay(1000));
    auto again = a.allocate(lay(1000));
    ASSERT_TRUE(again);
    EXPECT_EQ(again.ptr, blocks[3]);
    blocks[3] = again.ptr;
    fill(again.ptr, 1000, 3);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        EXPECT_EQ(first_mismatch(blocks[i], 1000, i), 1000u);
        a.deallocate(blocks[i], lay(1000));
    }
    EXPECT_EQ(a.stats().live_blocks, 0u);
}

TYPED_TEST(free_list_policy, grow_in_place_takes_the_free_right_neighbour) {
    on_buffer<heapkit::free_list<TypeParam>, 4096> a;
    auto x = a.allocate(lay(100));
    auto y = a.allocate(lay(500));
    auto z = a.allocate(lay(16));
    ASSERT_TRUE(x && y && z);
    fill(x.ptr, 100, 7);
    a.deallocate(y.ptr, lay(500));
    auto g = a.grow(x.ptr, lay(100), lay(600));
    ASSERT_TRUE(g);
    EXPECT_EQ(g.ptr, x.ptr);  // in place
    EXPECT_EQ(first_mismatch(g.ptr, 100, 7), 100u);
    EXPECT_EQ(g.size, 608u);  // 128 + 528 merged, the 32 bytes beyond the 624 needed split off again
    // shrinking in place hands the tail back
    auto s = a.shrink(g.ptr, lay(600), lay(50));
    ASSERT_TRUE(s);
    EXPECT_EQ(s.ptr, x.ptr);
    EXPECT_EQ(s.size, 64u);  // 50 rounds up to 64
    EXPECT_EQ(first_mismatch(s.ptr, 50, 7), 50u);
    a.deallocate(s.ptr, lay(50));
    a.deallocate(z.ptr, lay(16));
    EXPECT_EQ(a.stats().free_bytes, 4096u - 64u - 16u);
}

TYPED_TEST(free_list_policy, deallocate_all_and_owns) {
    heapkit::free_list<TypeParam> a;
    std::vector<void*> ps;
    for (int i = 0; i < 100; ++i) ps.push_back(a.allocate(lay(static_cast<std::size_t>(i) * 100 + 1)).ptr);
    auto big = a.allocate(lay(std::size_t{3} << 20));
    ASSERT_TRUE(big);
    for (void* p : ps) EXPECT_TRUE(a.owns(p));
    EXPECT_TRUE(a.owns(big.ptr));
    int local = 0;
    EXPECT_FALSE(a.owns(&local));
    a.deallocate_all();
    const auto s = a.stats();
    EXPECT_EQ(s.live_blocks, 0u);
    EXPECT_EQ(s.held_bytes, 0u);  // every region went back to the parent
    EXPECT_FALSE(a.owns(ps[0]));
    auto again = a.allocate(lay(64));
    ASSERT_TRUE(again);
    a.deallocate(again.ptr, lay(64));
}

// ---- policies differ ----

// Two holes, the larger freed last (so first in the LIFO list): first fit
// takes the larger one, best fit and segregated fit the snug one. Returns
// which hole a 64-byte request got: 'b' (big), 's' (snug) or '?'.
template <class Policy>
char pick_between_two_holes() {
    on_buffer<heapkit::free_list<Policy>, 4096> a;
    auto big = a.allocate(lay(480));
    auto g1 = a.allocate(lay(16));
    auto snug = a.allocate(lay(96));
    auto g2 = a.allocate(lay(16));
    auto rest = a.allocate(lay(a.stats().largest_free));
    EXPECT_TRUE(big && g1 && snug && g2 && rest);
    a.deallocate(snug.ptr, lay(96));
    a.deallocate(big.ptr, lay(480));
    void* p = a.allocate(lay(64)).ptr;
    return p == big.ptr ? 'b' : p == snug.ptr ? 's' : '?';
}

TEST(free_list, first_fit_and_best_fit_pick_different_blocks) {
    EXPECT_EQ(pick_between_two_holes<heapkit::first_fit>(), 'b');
    EXPECT_EQ(pick_between_two_holes<heapkit::best_fit>(), 's');
    EXPECT_EQ(pick_between_two_holes<heapkit::segregated_fit>(), 's');
}

TEST(free_list, next_fit_resumes_where_it_stopped) {
    // Three equal holes h1, h2, h3 (list order h3, h2, h1 after freeing h1..h3).
    // First fit keeps taking the list head; next fit walks on.
    auto holes = [](auto& a, std::vector<void*>& h) {
        std::vector<void*> guards;
        for (int i = 0; i < 3; ++i) {
            h.push_back(a.allocate(lay(200)).ptr);
            guards.push_back(a.allocate(lay(16)).ptr);
        }
        a.allocate(lay(a.stats().largest_free));
        for (void* p : h) a.deallocate(p, lay(200));
    };
    on_buffer<heapkit::free_list<heapkit::next_fit>, 4096> nf;
    std::vector<void*> nh;
    holes(nf, nh);
    void* n1 = nf.allocate(lay(50)).ptr;  // from h3, the list head (its 144-byte rest goes to the head)
    void* n2 = nf.allocate(lay(50)).ptr;  // next fit: resumes after h3, takes h2
    EXPECT_EQ(n1, nh[2]);
    EXPECT_EQ(n2, nh[1]);

    on_buffer<heapkit::free_list<heapkit::first_fit>, 4096> ff;
    std::vector<void*> fh;
    holes(ff, fh);
    void* f1 = ff.allocate(lay(50)).ptr;  // h3: split, its 144-byte rest goes to the head of the list
    void* f2 = ff.allocate(lay(50)).ptr;  // first fit: the list head again, the rest of h3
    EXPECT_EQ(f1, fh[2]);
    EXPECT_EQ(static_cast<char*>(f2), static_cast<char*>(fh[2]) + 80);
}

TEST(free_list, segregated_size_classes) {
    using idx = heapkit::detail::segregated_index;
    EXPECT_EQ(idx::class_of(32), 2u);
    EXPECT_EQ(idx::class_of(496), 31u);
    EXPECT_EQ(idx::class_of(512), 32u);
    EXPECT_EQ(idx::class_of(1023), 32u);
    EXPECT_EQ(idx::class_of(1024), 33u);
    EXPECT_EQ(idx::class_of(std::size_t{1} << 40), 63u);
}

TEST(free_list, stats_are_exact) {
    on_buffer<heapkit::free_list<>, 4096> a;
    auto s = a.stats();
    EXPECT_EQ(s.held_bytes, 4096u);
    EXPECT_EQ(s.free_bytes, 4096u - 48u - 16u - 16u);  // region header, sentinel, one block header
    EXPECT_EQ(s.largest_free, s.free_bytes);
    EXPECT_EQ(s.external_fragmentation(), 0.0);

    auto x = a.allocate(lay(100));  // 100 -> 112 + 16 header = 128
    auto y = a.allocate(lay(100));
    auto z = a.allocate(lay(100));
    ASSERT_TRUE(x && y && z);
    EXPECT_EQ(x.size, 112u);
    s = a.stats();
    EXPECT_EQ(s.live_bytes, 300u);
    EXPECT_EQ(s.live_blocks, 3u);
    EXPECT_EQ(s.slack_bytes, 3u * 28u);
    EXPECT_EQ(s.free_bytes, 4032u - 384u - 16u);
    a.deallocate(y.ptr, lay(100));
    s = a.stats();
    EXPECT_EQ(s.live_bytes, 200u);
    EXPECT_EQ(s.live_blocks, 2u);
    EXPECT_EQ(s.peak_bytes, 300u);
    EXPECT_EQ(s.slack_bytes, 56u);
    EXPECT_EQ(s.free_bytes, 112u + 3632u);
    EXPECT_EQ(s.largest_free, 3632u);
    EXPECT_DOUBLE_EQ(s.external_fragmentation(), 1.0 - 3632.0 / 3744.0);
    EXPECT_DOUBLE_EQ(s.internal_fragmentation(), 56.0 / 256.0);
    // the zero-size request counts as a live block and costs nothing
    auto zero = a.allocate(lay(0, 16));
    EXPECT_EQ(a.stats().live_blocks, 3u);
    EXPECT_EQ(a.stats().free_bytes, 3744u);
    a.deallocate(zero.ptr, lay(0, 16));
    // an alignment gap becomes a free block of its own, not slack
    auto al = a.allocate(lay(64, 1024));
    ASSERT_TRUE(al);
    EXPECT_TRUE(heapkit::is_aligned(al.ptr, 1024));
    EXPECT_EQ(a.stats().slack_bytes, 56u + 16u);
    a.deallocate(al.ptr, lay(64, 1024));
    EXPECT_EQ(a.stats().free_bytes, 112u + 3632u);
    a.deallocate(x.ptr, lay(100));
    a.deallocate(z.ptr, lay(100));
    EXPECT_EQ(a.stats().free_bytes, 4016u);
}

TEST(free_list, empty_regions_go_back_to_the_parent) {
    heapkit::free_list<> a;
    auto small = a.allocate(lay(100));
    ASSERT_TRUE(small);
    const std::size_t one_region = a.stats().held_bytes;
    EXPECT_GE(one_region, heapkit::free_list<>::default_region_bytes);
    auto big = a.allocate(lay(std::size_t{4} << 20));  // too big for the first region: a region of its own
    ASSERT_TRUE(big);
    EXPECT_GT(a.stats().held_bytes, one_region + (std::size_t{4} << 20));
    a.deallocate(big.ptr, lay(std::size_t{4} << 20));
    EXPECT_EQ(a.stats().held_bytes, one_region);
    a.deallocate(small.ptr, lay(100));
    EXPECT_EQ(a.stats().held_bytes, one_region);  // the last ordinary region is kept
}

TEST(free_list, add_pool_serves_from_the_callers_memory) {
    heapkit::testing::aligned_buffer b1(8192), b2(8192);
    heapkit::free_list<heapkit::best_fit> a(b1.span());
    EXPECT_TRUE(a.add_pool(b2.span()));
    EXPECT_EQ(a.stats().held_bytes, 16384u);
    auto x = a.allocate(lay(6000));
    auto y = a.allocate(lay(6000));  // only fits in the other pool
    ASSERT_TRUE(x && y);
    EXPECT_FALSE(a.allocate(lay(6000)));
    a.deallocate_all();
    EXPECT_EQ(a.stats().held_bytes, 16384u);
    EXPECT_TRUE(a.allocate(lay(6000)));
}

#ifndef NDEBUG
void free_twice() {
    on_buffer<heapkit::free_list<>, 4096> a;
    heapkit::testing::free_twice(a);
}

TEST(free_list_death, a_double_free_is_reported) {
    EXPECT_DEATH(free_twice(),
                 "free_list::deallocate\\(\\): block 0x[0-9a-f]+ of 100 bytes aligned to 8 is already free");
}
#endif
