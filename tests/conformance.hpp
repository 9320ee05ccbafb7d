// The conformance suite: one typed GoogleTest suite that every heapkit
// allocator passes. An allocator joins with one line in its test file:
//
//   HEAPKIT_CONFORMANCE(bump, heapkit::bump<>);
//
// conformance_traits<A> says how to make one and what it can hold; the
// defaults fit an allocator that is default-constructible and draws on the
// OS. Specialise it for fixed-capacity or always-failing allocators.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/os/linux.hpp>

#include <gtest/gtest.h>

#include "pattern.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

namespace heapkit::testing {

template <class A>
struct conformance_traits {
    static std::unique_ptr<A> make() { return std::make_unique<A>(); }
    static constexpr std::size_t max_block = std::size_t{8} << 20;  // largest size the suite asks for
    static constexpr std::size_t max_align = std::size_t{1} << 16;  // largest alignment (page size and beyond)
    static constexpr bool always_fails = false;                     // heapkit::null
};

// Allocates blocks of layout l from a until it fails, checking that the
// failure is a value (the empty block), and fills block i with fill(.., i).
// Returns the blocks in the order they came.
template <class A>
std::vector<void*> allocate_until_exhausted(A& a, layout l) {
    std::vector<void*> blocks;
    for (;;) {
        const memory_block b = a.allocate(l);
        if (!b) {
            EXPECT_EQ(b.ptr, nullptr);
            EXPECT_EQ(b.size, 0u);
            return blocks;
        }
        fill(b.ptr, l.size(), blocks.size());
        blocks.push_back(b.ptr);
    }
}

// Frees one block twice while another stays live: what the death tests of
// allocators that detect a double free expect reported.
template <class A>
void free_twice(A& a) {
    const layout l = *layout::from(100, 8);
    const memory_block x = a.allocate(l);
    (void)a.allocate(l);
    a.deallocate(x.ptr, l);
    a.deallocate(x.ptr, l);
}

template <class A>
class conformance : public ::testing::Test {
protected:
    using traits = conformance_traits<A>;
    void SetUp() override { a_ = traits::make(); }
    void TearDown() override { a_.reset(); }
    A& a() { return *a_; }

    static layout lay(std::size_t size, std::size_t align) { return *layout::from(size, align); }

    std::unique_ptr<A> a_;
};

TYPED_TEST_SUITE_P(conformance);

TYPED_TEST_P(conformance, zero_size_is_legal_and_aligned) {
    if constexpr (TestFixture::traits::always_fails) GTEST_SKIP() << "allocator never succeeds";
    for (std::size_t align = 1; align <= 4096; align *= 2) {
        const layout l = this->lay(0, align);
        memory_block b = this->a().allocate(l);
        ASSERT_TRUE(b) << "align " << align;
        EXPECT_TRUE(is_aligned(b.ptr, align)) << "align " << align;
        this->a().deallocate(b.ptr, l);
    }
}

TYPED_TEST_P(conformance, every_alignment_is_honoured) {
    if constexpr (TestFixture::traits::always_fails) GTEST_SKIP() << "allocator never succeeds";
    for (std::size_t align = 1; align <= TestFixture::traits::max_align; align *= 2) {
        for (std::size_t size : {std::size_t{1}, align, 3 * align + 1}) {
            if (size > TestFixture::traits::max_block) continue;
            const layout l = this->lay(size, align);
            memory_block b = this->a().allocate(l);
            ASSERT_TRUE(b) << "size " << size << " align " << align;
            EXPECT_TRUE(is_aligned(b.ptr, align)) << "size " << size << " align " << align << " ptr " << b.ptr;
            EXPECT_GE(b.size, size);
            fill(b.ptr, size, size + align);
            EXPECT_EQ(first_mismatch(b.ptr, size, size + align), size);
            this->a().deallocate(b.ptr, l);
        }
    }
}

TYPED_TEST_P(conformance, sizes_from_zero_to_several_mib_keep_contents) {
    if constexpr (TestFixture::traits::always_fails) GTEST_SKIP() << "allocator never succeeds";
    std::vector<std::size_t> sizes = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100, 127, 128};
    for (std::size_t s = 256; s <= TestFixture::traits::max_block; s *= 2) {
        sizes.push_back(s - 1);
        sizes.push_back(s);
        if (s + 1 <= TestFixture::traits::max_block) sizes.push_back(s + 1);
    }
    std::vector<memory_block> blocks;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        memory_block b = this->a().allocate(this->lay(sizes[i], 8));
        ASSERT_TRUE(b) << "size " << sizes[i];
        EXPECT_TRUE(is_aligned(b.ptr, 8));
        EXPECT_GE(b.size, sizes[i]);
        fill(b.ptr, sizes[i], i);
        blocks.push_back(b);
    }
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        EXPECT_EQ(first_mismatch(blocks[i].ptr, sizes[i], i), sizes[i]) << "block of " << sizes[i] << " bytes";
    }
    // free in an order unrelated to the allocation order
    std::vector<std::size_t> order(sizes.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(12345));
    for (std::size_t i : order) this->a().deallocate(blocks[i].ptr, this->lay(sizes[i], 8));
}

TYPED_TEST_P(conformance, live_blocks_never_overlap) {
    if constexpr (TestFixture::traits::always_fails) GTEST_SKIP() << "allocator never succeeds";
    std::mt19937 rng(777);
    struct live {
        char* p;
        std::size_t n;
        layout l;
    };
    std::vector<live> blocks;
    for (int i = 0; i < 300; ++i) {
        const std::size_t n = 1 + rng() % 2000;
        const std::size_t align = std::size_t{1} << (rng() % 7);
        const layout l = this->lay(n, align);
        memory_block b = this->a().allocate(l);
        ASSERT_TRUE(b);
        blocks.push_back({static_cast<char*>(b.ptr), n, l});
        if (rng() % 4 == 0) {  // free a random one now and then
            const std::size_t k = rng() % blocks.size();
            this->a().deallocate(blocks[k].p, blocks[k].l);
            blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(k));
        }
    }
    std::vector<live> sorted = blocks;
    std::sort(sorted.begin(), sorted.end(), [](const live& x, const live& y) { return x.p < y.p; });
    for (std::size_t i = 1; i < sorted.size(); ++i) {
        EXPECT_LE(sorted[i - 1].p + sorted[i - 1].n, sorted[i].p) << "blocks overlap";
    }
    for (auto& b : blocks) this->a().deallocate(b.p, b.l);
}

TYPED_TEST_P(conformance, zeroed_memory_reads_zero) {
    if constexpr (TestFixture::traits::always_fails) GTEST_SKIP() << "allocator never succeeds";
    for (std::size_t n : {std::size_t{1}, std::size_t{24}, std::size_t{4096}, std::size_t{70000}}) {
        if (n > TestFixture::traits::max_block) continue;
        const layout l = this->lay(n, 16);
        // dirty some memory first so that reuse would show
        memory_block dirty = this->a().allocate(l);
        ASSERT_TRUE(dirty);
        std::memset(dirty.ptr, 0xab, n);
        this->a().deallocate(dirty.ptr, l);
        memory_block b = allocate_zeroed(this->a(), l);
        ASSERT_TRUE(b);
        const auto* c = static_cast<const unsigned char*>(b.ptr);
        EXPECT_TRUE(std::all_of(c, c + n, [](unsigned char x) { return x == 0; })) << "size " << n;
        this->a().deallocate(b.ptr, l);
    }
}

TYPED_TEST_P(conformance, grow_and_shrink_keep_data) {
    if constexpr (TestFixture::traits::always_fails) GTEST_SKIP() << "allocator never succeeds";
    const std::size_t cap = TestFixture::traits::max_block;
    for (std::size_t align : {std::size_t{8}, std::size_t{64}, std::size_t{4096}}) {
        layout l = this->lay(10, align);
        memory_block b = this->a().allocate(l);
        ASSERT_TRUE(b);
        fill(b.ptr, l.size(), 99);
        void* p = b.ptr;
        // grow in steps, checking the kept prefix each time
        for (std::size_t n : {std::size_t{100}, std::size_t{5000}, std::size_t{70000}, std::size_t{1} << 20}) {
            if (n > cap) break;
            const layout nl = this->lay(n, align);
            memory_block g = grow(this->a(), p, l, nl);
            ASSERT_TRUE(g) << "grow to " << n;
            EXPECT_TRUE(is_aligned(g.ptr, align));
            EXPECT_EQ(first_mismatch(g.ptr, l.size(), 99), l.size()) << "grow to " << n << " lost data";
            fill(g.ptr, n, 99);
            p = g.ptr;
            l = nl;
        }
        // and back down
        for (std::size_t n : {std::size_t{3000}, std::size_t{17}, std::size_t{1}}) {
            if (n > l.size()) continue;
            const layout nl = this->lay(n, align);
            memory_block s = shrink(this->a(), p, l, nl);
            ASSERT_TRUE(s) << "shrink to " << n;
            EXPECT_TRUE(is_aligned(s.ptr, align));
            EXPECT_EQ(first_mismatch(s.ptr, n, 99), n) << "shrink to " << n << " lost data";
            p = s.ptr;
            l = nl;
        }
        this->a().deallocate(p, l);
    }
}

TYPED_TEST_P(conformance, grow_zeroed_clears_the_new_part) {
    if constexpr (TestFixture::traits::always_fails) GTEST_SKIP() << "allocator never succeeds";
    const layout l = this->lay(40, 8);
    memory_block b = this->a().allocate(l);
    ASSERT_TRUE(b);
    fill(b.ptr, 40, 5);
    const layout nl = this->lay(4000, 8);
    memory_block g = grow_zeroed(this->a(), b.ptr, l, nl);
    ASSERT_TRUE(g);
    EXPECT_EQ(first_mismatch(g.ptr, 40, 5), 40u);
    const auto* c = static_cast<const unsigned char*>(g.ptr);
    EXPECT_TRUE(std::all_of(c + 40, c + 4000, [](unsigned char x) { return x == 0; }));
    this->a().deallocate(g.ptr, nl);
}

TYPED_TEST_P(conformance, out_of_memory_is_a_value) {
    // A request no machine can serve fails with an empty block, and the
    // allocator keeps working afterwards.
    const layout huge = this->lay(layout::max_size_for(16), 16);
    memory_block b = this->a().allocate(huge);
    EXPECT_FALSE(b);
    EXPECT_EQ(b.ptr, nullptr);
    memory_block z = allocate_zeroed(this->a(), huge);
    EXPECT_FALSE(z);
    if constexpr (!TestFixture::traits::always_fails) {
        const layout l = this->lay(64, 8);
        memory_block ok = this->a().allocate(l);
        ASSERT_TRUE(ok);
        fill(ok.ptr, 64, 1);
        // a grow that cannot be served leaves the block intact
        memory_block g = grow(this->a(), ok.ptr, l, huge);
        EXPECT_FALSE(g);
        EXPECT_EQ(first_mismatch(ok.ptr, 64, 1), 64u);
        this->a().deallocate(ok.ptr, l);
    }
}

TYPED_TEST_P(conformance, usable_size_covers_the_request) {
    if constexpr (TestFixture::traits::always_fails) GTEST_SKIP() << "allocator never succeeds";
    for (std::size_t n : {std::size_t{1}, std::size_t{33}, std::size_t{1000}, std::size_t{100000}}) {
        if (n > TestFixture::traits::max_block) continue;
        const layout l = this->lay(n, 8);
        memory_block b = this->a().allocate(l);
        ASSERT_TRUE(b);
        const std::size_t u = usable_size(this->a(), b.ptr, l);
        EXPECT_GE(u, n);
        std::memset(b.ptr, 0x5a, u);  // all of it is writable (ASan would say otherwise)
        this->a().deallocate(b.ptr, l);
    }
}

TYPED_TEST_P(conformance, owns_its_blocks) {
    using A = TypeParam;
    if constexpr (TestFixture::traits::always_fails || !has_owns<A>) {
        GTEST_SKIP() << "allocator has no owns()";
    } else {
        const layout l = this->lay(48, 16);
        memory_block b = this->a().allocate(l);
        ASSERT_TRUE(b);
        EXPECT_TRUE(this->a().owns(b.ptr));
        int on_stack = 0;
        EXPECT_FALSE(this->a().owns(&on_stack));
        this->a().deallocate(b.ptr, l);
    }
}

TYPED_TEST_P(conformance, stats_are_consistent) {
    using A = TypeParam;
    if constexpr (TestFixture::traits::always_fails || !has_stats<A>) {
        GTEST_SKIP() << "allocator keeps no stats";
    } else {
        const allocator_stats s0 = this->a().stats();
        std::vector<std::pair<void*, layout>> blocks;
        std::size_t bytes = 0;
        for (std::size_t n : {std::size_t{8}, std::size_t{100}, std::size_t{3000}, std::size_t{50000}}) {
            if (n > TestFixture::traits::max_block) continue;
            const layout l = this->lay(n, 8);
            memory_block b = this->a().allocate(l);
            ASSERT_TRUE(b);
            blocks.emplace_back(b.ptr, l);
            bytes += n;
        }
        const allocator_stats s1 = this->a().stats();
        EXPECT_EQ(s1.live_blocks, s0.live_blocks + blocks.size());
        EXPECT_EQ(s1.live_bytes, s0.live_bytes + bytes);
        EXPECT_GE(s1.peak_bytes, s1.live_bytes);
        EXPECT_LE(s1.largest_free, s1.free_bytes);
        if (s1.held_bytes != 0) {
            EXPECT_GE(s1.held_bytes, s1.live_bytes);
        }
        for (auto& [p, l] : blocks) this->a().deallocate(p, l);
        const allocator_stats s2 = this->a().stats();
        EXPECT_EQ(s2.live_blocks, s0.live_blocks);
        EXPECT_EQ(s2.live_bytes, s0.live_bytes);
        EXPECT_GE(s2.peak_bytes, s1.live_bytes);
        EXPECT_GE(s2.internal_fragmentation(), 0.0);
        EXPECT_LE(s2.internal_fragmentation(), 1.0);
        EXPECT_GE(s2.external_fragmentation(), 0.0);
        EXPECT_LE(s2.external_fragmentation(), 1.0);
    }
}

REGISTER_TYPED_TEST_SUITE_P(conformance, zero_size_is_legal_and_aligned, every_alignment_is_honoured,
                            sizes_from_zero_to_several_mib_keep_contents, live_blocks_never_overlap,
                            zeroed_memory_reads_zero, grow_and_shrink_keep_data, grow_zeroed_clears_the_new_part,
                            out_of_memory_is_a_value, usable_size_covers_the_request, owns_its_blocks,
                            stats_are_consistent);

}  // namespace heapkit::testing

// Runs the conformance suite against allocator type `...` under the name `name`.
#define HEAPKIT_CONFORMANCE(name, ...)                                                \
    namespace heapkit::testing {                                                      \
    INSTANTIATE_TYPED_TEST_SUITE_P(name, conformance, ::testing::Types<__VA_ARGS__>); \
    }                                                                                 \
    static_assert(true)
