// heapkit malloc gives memory back (src/malloc/heap.cpp, purging): once the
// purge delay has passed, a thread's next slow paths purge its unused pages —
// the only page of a class, kept when its last block came back, included —
// and unmap its empty segments. Residency is read with mincore(2), mapped
// bytes with gp_stats(); the waits are loops with a generous deadline, not
// timing assertions.
#include <heapkit/malloc.hpp>
#include <malloc/options.hpp>

#include <gtest/gtest.h>

#include "resident.hpp"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

namespace {

constexpr std::size_t KiB = 1024;

using heapkit::testing::resident_pages;

// A little allocation work that needs more than one page of its class, so it
// reaches the slow path that purges (as a program that carries on would).
void light_work() {
    void* few[64];
    for (auto& p : few) {
        p = hk_malloc(2 * KiB);
        ASSERT_NE(p, nullptr);
        std::memset(p, 1, 2 * KiB);
    }
    for (void* p : few) hk_free(p);
}

// Work that fits the current page: one block allocated and freed again and
// again only ever refills that page from its own frees.
void one_page_work() {
    for (int i = 0; i < 1000; ++i) {
        void* p = hk_malloc(2 * KiB);
        ASSERT_NE(p, nullptr);
        std::memset(p, 1, 64);
        hk_free(p);
    }
}

// Huge blocks only: their malloc and free purge the heap too.
void huge_work() {
    void* p = hk_malloc(3 << 20);
    ASSERT_NE(p, nullptr);
    std::memset(p, 1, 4096);
    hk_free(p);
}

// Frees a block of a medium and one of a large class (each the only block of
// its page, the page the only one of its class, kept at free), then does
// `work` until both blocks' pages are no longer resident and their segments
// are unmapped, or a deadline passes.
void lone_blocks_go_back(void (*work)()) {
    work();  // what it maps (a segment, a cached huge mapping) is mapped before the baseline
    const std::size_t base = heapkit::gp_stats().mapped_bytes;

    // One block in a medium and one in a large class: each is the only block
    // of its page, and the page the only one of its class (kept at free).
    const std::size_t sizes[] = {40 * KiB, 300 * KiB};
    void* blocks[2];
    for (int i = 0; i < 2; ++i) {
        blocks[i] = hk_malloc(sizes[i]);
        ASSERT_NE(blocks[i], nullptr);
        std::memset(blocks[i], 0x5a, sizes[i]);
        EXPECT_GT(resident_pages(blocks[i], sizes[i]), 0u);
    }
    for (void* p : blocks) hk_free(p);

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::size_t resident = 0, mapped = 0;
    do {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        work();
        resident = resident_pages(blocks[0], sizes[0]) + resident_pages(blocks[1], sizes[1]);
        mapped = heapkit::gp_stats().mapped_bytes;
    } while ((resident != 0 || mapped > base) && std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(resident, 0u) << "pages of the freed blocks still resident";
    EXPECT_LE(mapped, base) << "segments of the freed blocks still mapped";
}

TEST(hk_purge, lone_pages_and_their_segments_go_back_after_the_delay) {
    if (heapkit::current_malloc_options().purge_delay_ms < 0) GTEST_SKIP() << "HEAPKIT_PURGE_DELAY=-1: never purges";
    lone_blocks_go_back(light_work);
}

TEST(hk_purge, work_within_the_current_page_gives_the_pages_back) {
    if (heapkit::current_malloc_options().purge_delay_ms < 0) GTEST_SKIP() << "HEAPKIT_PURGE_DELAY=-1: never purges";
    lone_blocks_go_back(one_page_work);
}

TEST(hk_purge, huge_blocks_alone_give_the_pages_back) {
    if (heapkit::current_malloc_options().purge_delay_ms < 0) GTEST_SKIP() << "HEAPKIT_PURGE_DELAY=-1: never purges";
    lone_blocks_go_back(huge_work);
}

}  // namespace
