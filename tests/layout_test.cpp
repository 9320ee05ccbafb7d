#include <heapkit/layout.hpp>

#include <gtest/gtest.h>

#include <cstdint>

using heapkit::layout;

TEST(layout, from_accepts_powers_of_two_only) {
    EXPECT_FALSE(layout::from(24, 3));
    EXPECT_FALSE(layout::from(24, 0));
    EXPECT_FALSE(layout::from(24, 6));
    for (std::size_t a = 1; a <= (std::size_t{1} << 40); a <<= 1) {
        auto l = layout::from(24, a);
        ASSERT_TRUE(l) << a;
        EXPECT_EQ(l->size(), 24u);
        EXPECT_EQ(l->align(), a);
    }
}

TEST(layout, from_rejects_sizes_that_overflow_when_rounded_up) {
    EXPECT_TRUE(layout::from(PTRDIFF_MAX, 1));
    EXPECT_FALSE(layout::from(std::size_t{PTRDIFF_MAX} + 1, 1));
    EXPECT_TRUE(layout::from(std::size_t{PTRDIFF_MAX} - 7, 8));
    EXPECT_FALSE(layout::from(std::size_t{PTRDIFF_MAX} - 6, 8));
    EXPECT_FALSE(layout::from(SIZE_MAX, 1));
}

TEST(layout, of_and_array) {
    struct alignas(32) wide {
        char c[40];
    };
    EXPECT_EQ(layout::of<wide>().size(), sizeof(wide));
    EXPECT_EQ(layout::of<wide>().align(), 32u);
    auto a = layout::array<int>(1000);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->size(), 4000u);
    EXPECT_EQ(a->align(), alignof(int));
    EXPECT_TRUE(layout::array<int>(0));
    EXPECT_EQ(layout::array<int>(0)->size(), 0u);
    EXPECT_FALSE(layout::array<int>(SIZE_MAX / 2));
    EXPECT_FALSE(layout::array<wide>(SIZE_MAX / 64));
}

TEST(layout, extend_places_fields_like_a_struct) {
    // struct { char c; double d; int i; }: offsets 0, 8, 16; size 20 before padding, 24 after
    auto c = layout::of<char>();
    auto r1 = c.extend(layout::of<double>());
    ASSERT_TRUE(r1);
    EXPECT_EQ(r1->second, 8u);
    EXPECT_EQ(r1->first.size(), 16u);
    EXPECT_EQ(r1->first.align(), 8u);
    auto r2 = r1->first.extend(layout::of<int>());
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->second, 16u);
    EXPECT_EQ(r2->first.size(), 20u);
    EXPECT_EQ(r2->first.pad_to_align().size(), 24u);
    struct s {
        char c;
        double d;
        int i;
    };
    EXPECT_EQ(r2->first.pad_to_align(), layout::of<s>());
}

TEST(layout, extend_fails_on_overflow) {
    auto big = layout::from(PTRDIFF_MAX - 15, 16);
    ASSERT_TRUE(big);
    EXPECT_FALSE(big->extend(layout::of<int>()));
    EXPECT_FALSE(layout::of<char>().extend(*big));
}

TEST(layout, pad_and_align_to) {
    auto l = *layout::from(13, 4);
    EXPECT_EQ(l.pad_to_align().size(), 16u);
    EXPECT_EQ(l.padding_needed_for(8), 3u);
    auto w = l.align_to(64);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->align(), 64u);
    EXPECT_EQ(w->size(), 13u);
    EXPECT_EQ(l.align_to(2)->align(), 4u);  // never lowers the alignment
    EXPECT_FALSE(l.align_to(48));
    EXPECT_FALSE(layout::from(PTRDIFF_MAX - 3, 4)->align_to(4096));
}

TEST(layout, is_constexpr) {
    static_assert(layout::from(24, 8)->size() == 24);
    static_assert(!layout::from(24, 3));
    static_assert(layout::array<long>(3)->size() == 3 * sizeof(long));
}
