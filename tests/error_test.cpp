#include <heapkit/error.hpp>

#include <gtest/gtest.h>

namespace {
std::size_t g_seen = 0;
void record(heapkit::layout l) noexcept { g_seen = l.size(); }
}  // namespace

TEST(alloc_error, default_hook_prints_the_rust_message_and_aborts) {
    EXPECT_DEATH(heapkit::handle_alloc_error(*heapkit::layout::from(4, 4)), "^memory allocation of 4 bytes failed\n$");
}

TEST(alloc_error, a_custom_hook_runs_then_the_process_aborts) {
    EXPECT_DEATH(
        {
            heapkit::set_alloc_error_hook(+[](heapkit::layout l) noexcept {
                fprintf(stderr, "custom hook saw %zu\n", l.size());
            });
            heapkit::handle_alloc_error(*heapkit::layout::from(123, 8));
        },
        "custom hook saw 123");
}

TEST(alloc_error, set_returns_the_previous_hook_and_take_restores_the_default) {
    EXPECT_EQ(heapkit::set_alloc_error_hook(record), nullptr);
    EXPECT_EQ(heapkit::take_alloc_error_hook(), &record);
    EXPECT_EQ(heapkit::take_alloc_error_hook(), nullptr);
    g_seen = 0;
    record(*heapkit::layout::from(9, 1));
    EXPECT_EQ(g_seen, 9u);
}

TEST(alloc_error, fatal_names_the_problem) {
    EXPECT_DEATH(heapkit::fatal("free(): pointer 0x10 was not allocated by heapkit"),
                 "heapkit: free\\(\\): pointer 0x10 was not allocated by heapkit");
}
