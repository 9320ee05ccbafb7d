// The shadow model itself: it passes a correct allocator and catches a broken one.
#include <heapkit/alloc/system.hpp>

#include "shadow_model.hpp"

#include <gtest/gtest.h>

namespace {
// From the fifth call on, hands every non-empty request the same buffer:
// two live blocks then overlap, and the model must notice.
struct overlapping {
    heapkit::system inner;
    int count = 0;
    alignas(4096) static inline char shared[1 << 16];
    heapkit::memory_block allocate(heapkit::layout l) noexcept {
        if (++count >= 5 && l.size() > 0) return {shared, l.size()};
        return inner.allocate(l);
    }
    void deallocate(void* p, heapkit::layout l) noexcept {
        if (p != shared) inner.deallocate(p, l);
    }
};
}  // namespace

TEST(shadow_model, a_correct_allocator_passes) {
    heapkit::system s;
    const std::uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
    EXPECT_EQ(heapkit::testing::run_shadow_model(s, seed, 5000), "");
}

TEST(shadow_model, overlapping_blocks_are_caught) {
    overlapping o;
    heapkit::testing::shadow_driver<overlapping> d(o, {.max_size = 256, .max_align = 16, .max_live = 64});
    heapkit::testing::op_source src(1);
    for (int i = 0; i < 200 && d.step(src); ++i) {
    }
    EXPECT_FALSE(d.ok());
    EXPECT_NE(d.error().find("overlap"), std::string::npos) << d.error();
}
