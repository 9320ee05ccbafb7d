// hk_get_stats (include/heapkit/malloc_stats.h): the C view of heapkit
// malloc's statistics agrees with heapkit::gp_stats() and counts exactly what
// this thread allocates and frees; a shorter struct gets its prefix only.
#include <heapkit/malloc_stats.h>
#include <heapkit/malloc.hpp>

#include <gtest/gtest.h>

#include <cstring>

TEST(stats_c, counts_what_this_thread_allocates) {
    hk_stats before{};
    ASSERT_EQ(hk_get_stats(&before, sizeof before), sizeof(hk_stats));
    void* blocks[10];
    for (void*& b : blocks) b = hk_malloc(100);  // a 112-byte class block each
    hk_stats during{};
    hk_get_stats(&during, sizeof during);
    EXPECT_EQ(during.allocations - before.allocations, 10u);
    EXPECT_EQ(during.live_blocks - before.live_blocks, 10u);
    EXPECT_EQ(during.live_block_bytes - before.live_block_bytes, 10u * 112u);
    EXPECT_GE(during.mapped_bytes, during.live_block_bytes);
    EXPECT_GE(during.mapped_peak, during.mapped_bytes);
    for (void* b : blocks) hk_free(b);
    hk_stats after{};
    hk_get_stats(&after, sizeof after);
    EXPECT_EQ(after.frees - during.frees, 10u);
    EXPECT_EQ(after.live_blocks, before.live_blocks);
    EXPECT_EQ(after.live_block_bytes, before.live_block_bytes);
}

TEST(stats_c, agrees_with_gp_stats) {
    hk_stats c{};
    hk_get_stats(&c, sizeof c);
    const heapkit::gp_statistics g = heapkit::gp_stats();
    EXPECT_EQ(c.allocations, g.allocations);
    EXPECT_EQ(c.frees, g.frees);
    EXPECT_EQ(c.live_block_bytes, g.live_block_bytes);
}

TEST(stats_c, shorter_struct_gets_its_prefix) {
    unsigned char buffer[sizeof(hk_stats) + 8];
    std::memset(buffer, 0xAB, sizeof buffer);
    EXPECT_EQ(hk_get_stats(reinterpret_cast<hk_stats*>(buffer), 16), sizeof(hk_stats));
    for (std::size_t i = 16; i < sizeof buffer; ++i) ASSERT_EQ(buffer[i], 0xAB) << "byte " << i;
    EXPECT_EQ(hk_get_stats(nullptr, 0), sizeof(hk_stats));
}
