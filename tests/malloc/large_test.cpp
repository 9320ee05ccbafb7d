// heapkit malloc's huge blocks (src/malloc/large.hpp): freed mappings are
// cached and reused, calloc from the cache is zeroed, realloc grows a huge
// block in place or moves its pages (data and alignment kept), blocks growing
// past 128 KiB become huge, malloc_trim empties the cache, and the purge
// delay decides when cached mappings go back to the OS.
#include <heapkit/malloc.hpp>
#include <malloc/heap.hpp>
#include <malloc/large.hpp>
#include <malloc/options.hpp>

#include <gtest/gtest.h>

#include "resident.hpp"

#include <cstdint>
#include <cstring>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

namespace {

using heapkit::hkmalloc::huge_cache_purge;
using heapkit::hkmalloc::huge_cache_stats;
using heapkit::hkmalloc::now_ms;

constexpr std::size_t MiB = std::size_t{1} << 20;
constexpr std::uintptr_t segment_mask = (std::uintptr_t{4} << 20) - 1;

// A cached mapping must not expire between two statements of a test on a slow
// machine (sanitizers, load): the purge delay is a minute here unless the
// environment sets one (purge_delay_is_honoured passes its own clock and delay).
const bool g_long_delay = ::setenv("HEAPKIT_PURGE_DELAY", "60000", 0) == 0;

void fill(void* p, std::size_t n, unsigned seed) {
    auto* b = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < n; i += 511) b[i] = static_cast<unsigned char>(i * 7 + seed);
}

// True when the first n bytes still hold what fill(p, m >= n, seed) wrote.
bool filled(const void* p, std::size_t n, unsigned seed) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; i += 511) {
        if (b[i] != static_cast<unsigned char>(i * 7 + seed)) return false;
    }
    return true;
}

class hk_huge : public ::testing::Test {
protected:
    void SetUp() override {
        if (heapkit::current_malloc_options().purge_delay_ms == 0) GTEST_SKIP() << "HEAPKIT_PURGE_DELAY=0: no cache";
        hk_trim();  // an empty cache to start from
        ASSERT_EQ(huge_cache_stats().blocks, 0u);
    }
    void TearDown() override { hk_trim(); }
};

TEST_F(hk_huge, freed_block_is_cached_and_reused) {
    void* p = hk_malloc(2 * MiB);
    ASSERT_NE(p, nullptr);
    fill(p, 2 * MiB, 1);
    hk_free(p);
    EXPECT_EQ(huge_cache_stats().blocks, 1u);
    EXPECT_GE(huge_cache_stats().dirty_bytes, 2 * MiB);
    EXPECT_FALSE(hk_owns(p));          // a cached mapping is not registered
    void* q = hk_malloc(MiB + 12345);  // fits the cached reservation: same mapping, same offset
    EXPECT_EQ(q, p);
    EXPECT_EQ(huge_cache_stats().blocks, 0u);
    EXPECT_TRUE(hk_owns(q));
    EXPECT_GE(hk_usable_size(q), MiB + 12345);
    hk_free(q);
}

TEST_F(hk_huge, calloc_from_the_cache_is_zeroed) {
    void* p = hk_malloc(3 * MiB);
    ASSERT_NE(p, nullptr);
    std::memset(p, 0xff, 3 * MiB);
    hk_free(p);
    auto* z = static_cast<unsigned char*>(hk_calloc(1, 3 * MiB));
    ASSERT_NE(z, nullptr);
    EXPECT_EQ(static_cast<void*>(z), p);
    for (std::size_t i = 0; i < 3 * MiB; ++i) ASSERT_EQ(z[i], 0) << i;
    hk_free(z);
}

TEST_F(hk_huge, aligned_request_from_the_cache_is_aligned) {
    void* p = hk_malloc(2 * MiB);
    hk_free(p);
    void* q = hk_aligned_alloc(MiB, MiB);  // a huge block (over-allocation exceeds the largest class)
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(q) % MiB, 0u);
    EXPECT_EQ(huge_cache_stats().blocks, 0u);  // it came from the cache
    std::memset(q, 3, MiB);
    hk_free(q);
}

TEST_F(hk_huge, realloc_grows_in_place_and_keeps_data_and_alignment) {
    auto* p = static_cast<char*>(hk_malloc(MiB));
    ASSERT_NE(p, nullptr);
    fill(p, MiB, 2);
    char* q = static_cast<char*>(hk_realloc(p, 3 * MiB));  // inside the 4 MiB reservation
    EXPECT_EQ(q, p);
    ASSERT_TRUE(filled(q, MiB, 2));
    fill(q, 3 * MiB, 3);
    const std::uintptr_t offset = reinterpret_cast<std::uintptr_t>(q) & segment_mask;
    char* r = static_cast<char*>(hk_realloc(q, 40 * MiB));  // past it: mremap in place or pages moved
    ASSERT_NE(r, nullptr);
    ASSERT_TRUE(filled(r, 3 * MiB, 3));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(r) & segment_mask, offset);  // header still 4 MiB-aligned
    EXPECT_TRUE(hk_owns(r));
    EXPECT_GE(hk_usable_size(r), 40 * MiB);
    std::memset(r + 3 * MiB, 0x5a, 37 * MiB);
    char* s = static_cast<char*>(hk_realloc(r, 2 * MiB));  // shrink in place, the tail purged
    EXPECT_EQ(s, r);
    ASSERT_TRUE(filled(s, 2 * MiB, 3));
    EXPECT_GE(hk_usable_size(s), 2 * MiB);
    EXPECT_LT(hk_usable_size(s), 3 * MiB);
    hk_free(s);
}

TEST_F(hk_huge, realloc_past_128_kib_becomes_huge_and_grows_in_place) {
    void* p = hk_malloc(100 * 1024);
    fill(p, 100 * 1024, 4);
    void* q = hk_realloc(p, 200 * 1024);
    ASSERT_NE(q, nullptr);
    ASSERT_TRUE(filled(q, 100 * 1024, 4));
    fill(q, 200 * 1024, 5);
    for (std::size_t n = 300 * 1024; n <= 3 * MiB; n += 100 * 1024) {
        void* r = hk_realloc(q, n);
        EXPECT_EQ(r, q) << n;  // no copy while it fits the reservation
        ASSERT_TRUE(filled(r, 200 * 1024, 5)) << n;
        q = r;
    }
    hk_free(q);
    // malloc itself still uses the classes below 512 KiB
    void* c = hk_malloc(200 * 1024);
    EXPECT_EQ(huge_cache_stats().blocks, 1u);
    hk_free(c);
}

TEST_F(hk_huge, trim_releases_the_cache) {
    std::vector<void*> blocks;
    for (int i = 0; i < 6; ++i) {
        blocks.push_back(hk_malloc(MiB * (i + 1)));
        std::memset(blocks.back(), i, MiB * (i + 1));
    }
    for (void* p : blocks) hk_free(p);
    EXPECT_EQ(huge_cache_stats().blocks, 6u);
    const std::size_t mapped = heapkit::gp_stats().mapped_bytes;
    EXPECT_EQ(hk_trim(), 1);
    EXPECT_EQ(huge_cache_stats().blocks, 0u);
    EXPECT_EQ(huge_cache_stats().dirty_bytes, 0u);
    EXPECT_LE(heapkit::gp_stats().mapped_bytes + 21 * MiB, mapped);
}

TEST_F(hk_huge, cache_is_bounded) {
    std::vector<void*> blocks;
    for (int i = 0; i < 40; ++i) {
        blocks.push_back(hk_malloc(3 * MiB));
        std::memset(blocks.back(), i, 3 * MiB);
    }
    for (void* p : blocks) hk_free(p);
    EXPECT_LE(huge_cache_stats().blocks, 16u);
    EXPECT_LE(huge_cache_stats().dirty_bytes, 80 * MiB);
    void* big = hk_malloc(100 * MiB);  // larger than the whole cache: unmapped at free
    std::memset(big, 1, 100 * MiB);
    const std::size_t mapped = heapkit::gp_stats().mapped_bytes;
    hk_free(big);
    EXPECT_LE(heapkit::gp_stats().mapped_bytes + 100 * MiB, mapped);
}

using heapkit::testing::resident_pages;

// Leaves in the cache one mapping whose block of n bytes was written (resident); returns the block.
void* cache_one_written(std::size_t n) {
    void* p = hk_malloc(n);
    EXPECT_NE(p, nullptr);
    std::memset(p, 0xff, n);
    hk_free(p);
    EXPECT_EQ(huge_cache_stats().blocks, 1u);
    return p;
}

TEST_F(hk_huge, cached_mapping_too_small_for_a_request_is_grown_with_its_pages) {
    cache_one_written(3 * MiB);                                    // a 4 MiB reservation
    auto* z = static_cast<unsigned char*>(hk_calloc(1, 6 * MiB));  // needs 8 MiB: the cached one grows
    ASSERT_NE(z, nullptr);
    EXPECT_EQ(huge_cache_stats().blocks, 0u);
#if !defined(__SANITIZE_THREAD__)  // under TSan mremap is refused: a fresh mapping instead
    EXPECT_GT(resident_pages(z, MiB), 0u) << "the cached pages should have come along, not been faulted";
#endif
    for (std::size_t i = 0; i < 6 * MiB; ++i) ASSERT_EQ(z[i], 0) << i;
    hk_free(z);
}

TEST_F(hk_huge, excess_of_a_reused_mapping_stays_cached_as_its_own_mapping) {
    void* big = cache_one_written(14 * MiB);  // a 16 MiB reservation
    void* small = hk_malloc(MiB);             // takes it; all but its first 4 MiB go back to the cache, pages kept
    ASSERT_NE(small, nullptr);
    EXPECT_EQ(small, big);
    EXPECT_EQ(huge_cache_stats().blocks, 1u);
    EXPECT_GE(huge_cache_stats().dirty_bytes, 10 * MiB);
    void* other = hk_malloc(9 * MiB);  // the split-off mapping serves another request
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(huge_cache_stats().blocks, 0u);
    EXPECT_EQ(static_cast<char*>(other) - static_cast<char*>(small), static_cast<std::ptrdiff_t>(4 * MiB));
    std::memset(other, 2, 9 * MiB);
    std::memset(small, 3, MiB);
    hk_free(small);
    hk_free(other);
    EXPECT_EQ(huge_cache_stats().blocks, 2u);
}

TEST_F(hk_huge, purge_delay_is_honoured) {
    const std::int64_t delay = 250;
    void* p = hk_malloc(2 * MiB);
    std::memset(p, 1, 2 * MiB);
    hk_free(p);
    ASSERT_EQ(huge_cache_stats().blocks, 1u);
    const std::uint64_t now = now_ms();
    EXPECT_FALSE(huge_cache_purge(now, delay, false));      // freed just now: kept
    EXPECT_FALSE(huge_cache_purge(now + 1000, -1, false));  // -1: never by time
    EXPECT_EQ(huge_cache_stats().blocks, 1u);
    EXPECT_TRUE(huge_cache_purge(now + delay + 10, delay, false));  // past the delay: unmapped
    EXPECT_EQ(huge_cache_stats().blocks, 0u);
    p = hk_malloc(2 * MiB);
    hk_free(p);
    EXPECT_TRUE(huge_cache_purge(now, delay, true));  // forced (trim)
    EXPECT_EQ(huge_cache_stats().blocks, 0u);
}

TEST_F(hk_huge, cached_block_freed_again_is_reported) {
    void* p = hk_malloc(2 * MiB);
    hk_free(p);
    EXPECT_DEATH(hk_free(p), "was not allocated by heapkit");
}

}  // namespace
