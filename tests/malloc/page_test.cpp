// page.hpp's remote free list: thread_free carries its block count, so
// collecting it is one atomic exchange and no walk (page.cpp).
#include <malloc/page.hpp>

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace hk = heapkit::hkmalloc;

namespace {

constexpr std::size_t block_size = 16;
constexpr std::size_t blocks = 4096;  // the most a 64 KiB page holds
alignas(64) unsigned char memory[block_size * blocks];

hk::block* block_at(std::size_t i) { return reinterpret_cast<hk::block*>(memory + i * block_size); }

std::set<hk::block*> list_of(hk::block* head) {
    std::set<hk::block*> s;
    for (hk::block* b = head; b != nullptr; b = b->next) EXPECT_TRUE(s.insert(b).second) << "cycle at " << b;
    return s;
}

}  // namespace

TEST(page, remote_frees_are_counted_by_the_list_itself) {
    for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{100}, blocks}) {
        hk::page pg;
        pg.used = static_cast<std::uint32_t>(n + 5);  // 5 blocks stay handed out
        std::thread([&] {
            for (std::size_t i = 0; i < n; ++i) hk::page_free_remote(&pg, block_at(i));
        }).join();
        EXPECT_EQ(pg.thread_free.load() >> hk::tf_count_shift, n);
        EXPECT_EQ(hk::page_collect(&pg), n);
        EXPECT_EQ(pg.used, 5u);
        EXPECT_EQ(pg.thread_free.load(), hk::tf_none);
        const std::set<hk::block*> got = list_of(pg.free);  // `free` was empty: the list became it
        EXPECT_EQ(got.size(), n);
        for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(got.count(block_at(i)), 1u) << i;
        EXPECT_EQ(hk::page_collect(&pg), 0u);  // nothing new
    }
}

TEST(page, collecting_beside_both_local_lists_keeps_every_block) {
    hk::page pg;
    pg.used = 10;
    pg.free = block_at(0);
    block_at(0)->next = nullptr;
    pg.local_free = block_at(1);
    block_at(1)->next = nullptr;
    for (std::size_t i = 2; i < 5; ++i) hk::page_free_remote(&pg, block_at(i));
    EXPECT_EQ(hk::page_collect(&pg), 3u);
    EXPECT_EQ(pg.used, 7u);
    EXPECT_EQ(list_of(pg.free), (std::set<hk::block*>{block_at(0)}));
    EXPECT_EQ(list_of(pg.local_free), (std::set<hk::block*>{block_at(1), block_at(2), block_at(3), block_at(4)}));
}

TEST(page, collecting_with_an_empty_local_free_takes_the_list_as_it_is) {
    hk::page pg;
    pg.used = 4;
    pg.free = block_at(0);
    block_at(0)->next = nullptr;
    hk::page_free_remote(&pg, block_at(1));
    hk::page_free_remote(&pg, block_at(2));
    EXPECT_EQ(hk::page_collect(&pg), 2u);
    EXPECT_EQ(pg.used, 2u);
    EXPECT_EQ(list_of(pg.free), (std::set<hk::block*>{block_at(0)}));
    EXPECT_EQ(list_of(pg.local_free), (std::set<hk::block*>{block_at(1), block_at(2)}));
}
