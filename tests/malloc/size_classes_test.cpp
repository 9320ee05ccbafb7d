// Size classes of heapkit malloc: every class is 16-aligned, waste stays in
// its documented bound, class_of is monotonic and agrees with the table.
#include <malloc/page.hpp>
#include <malloc/size_classes.hpp>

#include <gtest/gtest.h>

namespace hk = heapkit::hkmalloc;

TEST(size_classes, every_class_is_a_multiple_of_16_and_increasing) {
    for (unsigned c = 0; c < hk::class_count; ++c) {
        EXPECT_EQ(hk::class_size(c) % 16, 0u) << "class " << c;
        if (c > 0) {
            EXPECT_GT(hk::class_size(c), hk::class_size(c - 1)) << "class " << c;
        }
        EXPECT_EQ(hk::classes.size[c], hk::class_size(c));
    }
}

TEST(size_classes, every_request_fits_its_class_within_the_waste_bound) {
    for (std::size_t n = 0; n <= hk::max_class_size; ++n) {
        const unsigned c = hk::class_of(n);
        ASSERT_LT(c, hk::class_count) << "size " << n;
        const std::size_t b = hk::class_size(c);
        ASSERT_GE(b, n) << "size " << n;
        if (n <= 128) {
            ASSERT_LE(b - n, 15u + (n == 0 ? 1u : 0u)) << "size " << n;
        } else {
            ASSERT_LT(static_cast<double>(b - n) / static_cast<double>(n), 0.125) << "size " << n;
        }
        // the smallest class that fits: the class below is too small
        if (c > 0) {
            ASSERT_LT(hk::class_size(c - 1), n) << "size " << n;
        }
    }
}

TEST(size_classes, class_of_is_monotonic_and_matches_the_formula) {
    unsigned prev = 0;
    for (std::size_t n = 0; n <= hk::max_class_size; ++n) {
        const unsigned c = hk::class_of(n);
        ASSERT_GE(c, prev) << "size " << n;
        ASSERT_EQ(c, hk::class_of_computed(n)) << "size " << n;
        prev = c;
    }
    EXPECT_EQ(hk::class_of(hk::max_class_size), hk::class_count - 1);
}

TEST(size_classes, worst_waste_per_range_is_as_documented) {
    // > 128 B: the worst case is just above a power of two: 2^k + 1 in a block of 2^k + 2^(k-3).
    for (unsigned k = 7; k < 19; ++k) {
        const std::size_t n = (std::size_t{1} << k) + 1;
        EXPECT_EQ(hk::class_size(hk::class_of(n)), (std::size_t{1} << k) + (std::size_t{1} << (k - 3)));
    }
}

TEST(size_classes, block_start_check_is_exact) {
    // page.hpp's block_start_ok (one multiplication) against the remainder,
    // for every class, near every block start of a 4 MiB span and at a
    // stride through it.
    using namespace heapkit::hkmalloc;
    for (unsigned c = 0; c < class_count; ++c) {
        const std::uint64_t bs = class_size(c);
        const std::uint64_t magic = block_magic(bs);
        const std::uint64_t limit = std::uint64_t{4} << 20;
        for (std::uint64_t start = 0; start < limit; start += bs) {
            for (std::uint64_t d = 0; d < 17 && start + d < limit; ++d) {
                ASSERT_EQ(block_start_ok(magic, start + d), d % bs == 0) << "class " << c << " offset " << start + d;
            }
            if (start >= 17) {
                for (std::uint64_t d = 1; d < 17; ++d) ASSERT_EQ(block_start_ok(magic, start - d), d % bs == 0) << c;
            }
        }
        for (std::uint64_t off = 0; off < limit; off += 4093) ASSERT_EQ(block_start_ok(magic, off), off % bs == 0) << c;
    }
}
