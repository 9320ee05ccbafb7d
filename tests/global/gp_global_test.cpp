// heapkit::gp registered with HEAPKIT_GLOBAL_ALLOCATOR: every operator
// new/delete of the program goes to heapkit malloc (the system malloc stays).
#include <heapkit/global.hpp>
#include <heapkit/malloc.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {
heapkit::gp gp_alloc;  // constant-initialised: usable before main
}
HEAPKIT_GLOBAL_ALLOCATOR(gp_alloc);

TEST(gp_global, operator_new_goes_to_heapkit_malloc) {
    const auto before = heapkit::gp_stats().gp.live_blocks;
    auto p = std::make_unique<std::string>(1000, 'x');
    EXPECT_GT(heapkit::gp_stats().gp.live_blocks, before);
    p.reset();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([] {
            std::vector<std::string> v;
            for (int i = 0; i < 2000; ++i) v.emplace_back(static_cast<std::size_t>(i % 300), 'y');
        });
    }
    for (auto& t : threads) t.join();
}
