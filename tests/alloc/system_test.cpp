#include <heapkit/alloc/null.hpp>
#include <heapkit/alloc/pages.hpp>
#include <heapkit/alloc/system.hpp>

#include "conformance.hpp"
#include "shadow_model.hpp"

namespace heapkit::testing {
template <>
struct conformance_traits<null> {
    static std::unique_ptr<null> make() { return std::make_unique<null>(); }
    static constexpr std::size_t max_block = 0;
    static constexpr std::size_t max_align = 1;
    static constexpr bool always_fails = true;
};
}  // namespace heapkit::testing

HEAPKIT_CONFORMANCE(system, heapkit::system);
HEAPKIT_CONFORMANCE(pages, heapkit::pages);
HEAPKIT_CONFORMANCE(null, heapkit::null);

using heapkit::testing::fill;
using heapkit::testing::first_mismatch;

TEST(system, large_alignment_goes_through_memalign) {
    heapkit::system s;
    auto l = *heapkit::layout::from(100, 1 << 20);
    auto b = s.allocate(l);
    ASSERT_TRUE(b);
    EXPECT_TRUE(heapkit::is_aligned(b.ptr, 1 << 20));
    // grow keeps the alignment even though realloc would not
    auto g = heapkit::grow(s, b.ptr, l, *heapkit::layout::from(5000, 1 << 20));
    ASSERT_TRUE(g);
    EXPECT_TRUE(heapkit::is_aligned(g.ptr, 1 << 20));
    s.deallocate(g.ptr, *heapkit::layout::from(5000, 1 << 20));
}

TEST(null, every_request_fails) {
    heapkit::null n;
    for (std::size_t size : {0, 1, 64, 1 << 20}) EXPECT_FALSE(n.allocate(*heapkit::layout::from(size, 8)));
    EXPECT_FALSE(heapkit::allocate_zeroed(n, heapkit::layout::of<int>()));
}

TEST(pages, blocks_are_whole_pages_and_zero) {
    heapkit::pages p;
    const std::size_t page = heapkit::pages::page_size();
    auto l = *heapkit::layout::from(10, 8);
    auto b = p.allocate(l);
    ASSERT_TRUE(b);
    EXPECT_EQ(b.size, page);
    EXPECT_TRUE(heapkit::is_aligned(b.ptr, page));
    const auto* c = static_cast<const unsigned char*>(b.ptr);
    for (std::size_t i = 0; i < page; ++i) ASSERT_EQ(c[i], 0);
    EXPECT_EQ(p.stats().held_bytes, page);
    EXPECT_EQ(p.stats().live_bytes, 10u);
    EXPECT_EQ(p.stats().slack_bytes, page - 10);
    p.deallocate(b.ptr, l);
    EXPECT_EQ(p.stats().held_bytes, 0u);
    EXPECT_EQ(p.stats().peak_bytes, 10u);
}

TEST(pages, grow_remaps_without_losing_data) {
    heapkit::pages p;
    auto l = *heapkit::layout::from(3 * 4096, 8);
    auto b = p.allocate(l);
    ASSERT_TRUE(b);
    fill(b.ptr, l.size(), 3);
    auto nl = *heapkit::layout::from(300 * 4096, 8);
    auto g = p.grow(b.ptr, l, nl);
    ASSERT_TRUE(g);
    EXPECT_EQ(first_mismatch(g.ptr, l.size(), 3), l.size());
    EXPECT_EQ(p.stats().held_bytes, 300u * 4096);
    p.deallocate(g.ptr, nl);
}

TEST(pages, shadow_model_agrees_with_its_stats) {
    heapkit::pages p;
    const std::uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
    std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
    EXPECT_EQ(heapkit::testing::run_shadow_model(p, seed, 2000, {.max_size = 1 << 18, .max_align = 1 << 16, .max_live = 64}),
              "");
}
