// Every allocator that draws on a parent hands it back exactly the layout it
// asked for, even when the parent's memory_block reports more bytes than
// asked (the allocator contract in allocator.hpp). The parent below reports
// 64 KiB more than asked and checks each deallocate against what it handed
// out; its figures live outside it so they can be read after the allocator
// (and the parent inside it) is destroyed.
#include <heapkit/heapkit.hpp>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

namespace {

struct parent_figures {
    std::map<void*, std::size_t> handed_out;  // block -> size asked
    std::size_t mismatches = 0;               // deallocate sizes that differ from the size asked
};
parent_figures g_figures;

struct generous_parent {
    heapkit::system inner;

    heapkit::memory_block allocate(heapkit::layout l) noexcept {
        heapkit::memory_block b = inner.allocate(heapkit::layout::from_unchecked(l.size() + 65536, l.align()));
        if (!b) return b;
        g_figures.handed_out[b.ptr] = l.size();
        return {b.ptr, l.size() + 65536};
    }
    void deallocate(void* p, heapkit::layout l) noexcept {
        auto it = g_figures.handed_out.find(p);
        if (it == g_figures.handed_out.end() || it->second != l.size()) {
            ++g_figures.mismatches;
        } else {
            g_figures.handed_out.erase(it);
        }
        inner.deallocate(p, l);
    }
};

// Allocates and frees a mix of blocks, destroys the allocator, and checks
// the parent got back every block with the size it was asked for.
template <class A, class... Args>
void check_parent_contract(Args... args) {
    g_figures = {};
    {
        auto a = std::make_unique<A>(args...);
        std::vector<std::pair<void*, heapkit::layout>> live;
        for (std::size_t i = 1; i <= 300; ++i) {
            const heapkit::layout l = heapkit::layout::from_unchecked(16 + (i * 37) % 3000, 16);
            heapkit::memory_block b = a->allocate(l);
            ASSERT_TRUE(b) << i;
            live.emplace_back(b.ptr, l);
        }
        EXPECT_FALSE(g_figures.handed_out.empty());
        for (auto& [p, l] : live) a->deallocate(p, l);
        const heapkit::allocator_stats s = heapkit::stats(*a);
        EXPECT_EQ(s.live_bytes, 0u);
        EXPECT_EQ(s.live_blocks, 0u);
    }
    EXPECT_EQ(g_figures.mismatches, 0u);
    EXPECT_TRUE(g_figures.handed_out.empty()) << g_figures.handed_out.size() << " blocks never given back";
}

}  // namespace

TEST(parent_contract, bump) { check_parent_contract<heapkit::bump<generous_parent>>(); }
TEST(parent_contract, pool) { check_parent_contract<heapkit::pool<generous_parent>>(std::size_t{3200}, std::size_t{16}); }
TEST(parent_contract, pool_set) { check_parent_contract<heapkit::pool_set<generous_parent>>(); }
TEST(parent_contract, free_list) { check_parent_contract<heapkit::free_list<heapkit::best_fit, generous_parent>>(); }
TEST(parent_contract, tlsf) { check_parent_contract<heapkit::tlsf<generous_parent>>(); }
TEST(parent_contract, buddy) { check_parent_contract<heapkit::buddy<generous_parent>>(std::size_t{1} << 22); }
