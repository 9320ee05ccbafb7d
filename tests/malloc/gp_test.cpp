// heapkit::gp and the hk_* C functions, in one process that keeps the
// system malloc: the conformance suite, a shadow-model randomised test, the
// glibc-compatible edge cases, huge blocks, trimming and the misuse reports.
// (gp never goes through the system malloc, so it runs under ASan too: the
// sanitizer only sees heapkit's mmap'd memory as ordinary memory.)
#include <heapkit/malloc.hpp>

#include "conformance.hpp"
#include "shadow_model.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

HEAPKIT_CONFORMANCE(gp, heapkit::gp);

static_assert(heapkit::allocator<heapkit::gp>);
static_assert(heapkit::has_grow<heapkit::gp> && heapkit::has_shrink<heapkit::gp> && heapkit::has_owns<heapkit::gp> &&
              heapkit::has_usable_size<heapkit::gp> && heapkit::has_stats<heapkit::gp> &&
              heapkit::has_allocate_zeroed<heapkit::gp>);

namespace {
constinit heapkit::gp constant_gp;  // gp is constant-initialisable (HEAPKIT_GLOBAL_ALLOCATOR needs it)
}

TEST(gp, shadow_model_randomised) {
    const std::uint64_t seed = std::random_device{}();
    std::printf("shadow_model_randomised seed = %llu\n", static_cast<unsigned long long>(seed));
    heapkit::gp a = constant_gp;
    heapkit::testing::shadow_limits limits;
    limits.max_size = 1 << 20;
    limits.max_align = 1 << 16;
    heapkit::testing::shadow_driver<heapkit::gp> driver(a, limits);
    heapkit::testing::op_source src(seed);
    for (int i = 0; i < 8000 && driver.step(src); ++i) {
    }
    EXPECT_TRUE(driver.ok()) << driver.error() << " (seed " << seed << ")";
}

TEST(hk, malloc_returns_16_aligned_distinct_blocks_for_every_size) {
    std::vector<void*> blocks;
    for (std::size_t n = 0; n <= 70000; n += (n < 2048 ? 1 : 977)) {
        void* p = hk_malloc(n);
        ASSERT_NE(p, nullptr) << n;
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u) << n;
        EXPECT_GE(hk_usable_size(p), n);
        std::memset(p, 0xcd, n);
        blocks.push_back(p);
    }
    for (void* p : blocks) hk_free(p);
}

TEST(hk, calloc_zeroes_and_rejects_overflow) {
    void* dirty = hk_malloc(1000);
    std::memset(dirty, 0xff, 1000);
    hk_free(dirty);
    auto* p = static_cast<unsigned char*>(hk_calloc(10, 100));
    ASSERT_NE(p, nullptr);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(p[i], 0) << i;
    hk_free(p);
    errno = 0;
    EXPECT_EQ(hk_calloc(SIZE_MAX / 2, 3), nullptr);
    EXPECT_EQ(errno, ENOMEM);
}

TEST(hk, realloc_follows_glibc) {
    void* p = hk_realloc(nullptr, 10);  // NULL -> malloc
    ASSERT_NE(p, nullptr);
    std::memcpy(p, "heapkit!!", 10);
    p = hk_realloc(p, 100000);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(std::memcmp(p, "heapkit!!", 10), 0);
    p = hk_realloc(p, 5 << 20);  // to a huge block
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(std::memcmp(p, "heapkit!!", 10), 0);
    p = hk_realloc(p, 20);  // back to a small one
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(std::memcmp(p, "heapkit!!", 10), 0);
    errno = 0;
    EXPECT_EQ(hk_realloc(p, SIZE_MAX / 2), nullptr);  // failure keeps p
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_EQ(std::memcmp(p, "heapkit!!", 10), 0);
    EXPECT_EQ(hk_realloc(p, 0), nullptr);  // (p, 0) frees
}

TEST(hk, realloc_growth_moves_a_block_with_headroom) {
    // A class block of 16 KiB or more that must move to grow gets at least 1.5 x its old usable size ...
    unsigned char* p = static_cast<unsigned char*>(hk_malloc(20000));
    ASSERT_NE(p, nullptr);
    const std::size_t before = hk_usable_size(p);
    for (std::size_t i = 0; i < before; ++i) p[i] = static_cast<unsigned char>(i * 7);
    p = static_cast<unsigned char*>(hk_realloc(p, before + 1));
    ASSERT_NE(p, nullptr);
    EXPECT_GE(hk_usable_size(p), before + before / 2);
    for (std::size_t i = 0; i < before; ++i) ASSERT_EQ(p[i], static_cast<unsigned char>(i * 7)) << i;
    hk_free(p);
    // ... so a buffer grown 64 bytes at a time from 16 to 128 KiB moves about log_1.5(8) times, not at every class.
    unsigned char* b = nullptr;
    std::size_t moves = 0;
    for (std::size_t n = 16 * 1024; n <= 128 * 1024; n += 64) {
        unsigned char* q = static_cast<unsigned char*>(hk_realloc(b, n));
        ASSERT_NE(q, nullptr);
        if (b != nullptr && q != b) ++moves;
        b = q;
        if (n > 16 * 1024) {
            ASSERT_EQ(b[n - 65], static_cast<unsigned char>((n - 64) / 64));  // the previous last byte
        }
        b[n - 1] = static_cast<unsigned char>(n / 64);
    }
    EXPECT_LE(moves, 8u);  // every 12.5 % class step would be 24 moves
    hk_free(b);
    // Smaller blocks grow exactly (the next class that fits).
    void* s = hk_malloc(1000);
    const std::size_t small = hk_usable_size(s);
    s = hk_realloc(s, small + 1);
    EXPECT_LT(hk_usable_size(s), small + small / 2);
    hk_free(s);
}

TEST(hk, aligned_alloc_every_power_of_two_up_to_16_mib) {
    for (std::size_t align = 1; align <= (std::size_t{16} << 20); align *= 2) {
        for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{100}, align, 3 * align + 5}) {
            void* p = hk_aligned_alloc(align, n);
            ASSERT_NE(p, nullptr) << align << " " << n;
            EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u) << align << " " << n;
            EXPECT_GE(hk_usable_size(p), n);
            std::memset(p, 0x11, n);
            EXPECT_TRUE(hk_owns(p));
            hk_free(p);
        }
    }
    errno = 0;
    EXPECT_EQ(hk_aligned_alloc(24, 10), nullptr);
    EXPECT_EQ(errno, EINVAL);
}

TEST(hk, huge_blocks_are_mapped_and_unmapped) {
    const auto before = heapkit::gp_stats();
    void* p = hk_malloc(std::size_t{64} << 20);
    ASSERT_NE(p, nullptr);
    std::memset(p, 1, std::size_t{64} << 20);
    EXPECT_GE(heapkit::gp_stats().mapped_bytes, before.mapped_bytes + (std::size_t{64} << 20));
    hk_free(p);
    hk_trim();  // a freed huge mapping waits in the cache (large.hpp) until the purge delay or a trim
    EXPECT_LT(heapkit::gp_stats().mapped_bytes, before.mapped_bytes + (std::size_t{64} << 20));
    errno = 0;
    EXPECT_EQ(hk_malloc(std::size_t{1} << 62), nullptr);
    EXPECT_EQ(errno, ENOMEM);
}

TEST(hk, trim_returns_emptied_segments) {
    std::vector<void*> blocks;
    for (int i = 0; i < 20000; ++i) blocks.push_back(hk_malloc(1000));  // ~20 MiB of small pages
    const std::size_t full = heapkit::gp_stats().mapped_bytes;
    for (void* p : blocks) hk_free(p);
    hk_trim();
    EXPECT_LT(heapkit::gp_stats().mapped_bytes, full);
}

TEST(hk, owns_tells_heapkit_memory_apart) {
    int local = 0;
    static int global = 0;
    EXPECT_FALSE(hk_owns(&local));
    EXPECT_FALSE(hk_owns(&global));
    EXPECT_FALSE(hk_owns(nullptr));
    void* p = hk_malloc(24);
    EXPECT_TRUE(hk_owns(p));
    hk_free(p);
    hk_free(nullptr);  // a no-op
}

TEST(hk, free_keeps_errno) {
    void* p = hk_malloc(100);
    void* q = hk_malloc(std::size_t{2} << 20);
    errno = 1234;
    hk_free(p);
    hk_free(q);
    EXPECT_EQ(errno, 1234);
}

using hk_death = ::testing::Test;

TEST(hk_death, foreign_pointer_is_reported) {
    int local = 0;
    EXPECT_DEATH(hk_free(&local), "heapkit: free\\(\\): pointer 0x[0-9a-f]+ was not allocated by heapkit");
    EXPECT_DEATH(hk_realloc(&local, 10), "heapkit: realloc\\(\\): pointer 0x[0-9a-f]+ was not allocated by heapkit");
}

TEST(hk_death, pointer_inside_a_block_is_reported) {
    char* p = static_cast<char*>(hk_malloc(64));
    EXPECT_DEATH(hk_free(p + 8), "was not allocated by heapkit: it points inside the block at");
    char* h = static_cast<char*>(hk_malloc(std::size_t{1} << 20));
    EXPECT_DEATH(hk_free(h + 4096), "was not allocated by heapkit");
    hk_free(p);
    hk_free(h);
}

TEST(hk_death, immediate_double_free_is_reported) {
    EXPECT_DEATH(
        {
            void* keep = hk_malloc(48);  // keeps the page from emptying
            void* p = hk_malloc(48);
            hk_free(p);
            hk_free(p);
            hk_free(keep);
        },
        "was already freed \\(double free\\)");
    EXPECT_DEATH(
        {
            void* p = hk_malloc(std::size_t{3} << 20);
            hk_free(p);
            hk_free(p);
        },
        "was not allocated by heapkit \\(or was already freed\\)");
}

TEST(hk, options_have_their_defaults) {
    const heapkit::malloc_options o = heapkit::current_malloc_options();
    if (std::getenv("HEAPKIT_PURGE_DELAY") == nullptr) {
        EXPECT_EQ(o.purge_delay_ms, 100);
    }
}
