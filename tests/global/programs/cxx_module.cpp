// The C++ module cxx_module_host loads privately: operator new out of memory
// with a new_handler that gives up after three calls, throwing and nothrow.
#include <cstddef>
#include <cstdio>
#include <new>

namespace {
int g_calls = 0;
void give_up_after_three() {
    if (++g_calls == 3) std::set_new_handler(nullptr);
}
}  // namespace

extern "C" __attribute__((visibility("default"))) int run_new_cases() {
    const std::size_t huge = std::size_t{1} << 60;
    std::set_new_handler(&give_up_after_three);
    try {
        void* p = ::operator new(huge);
        std::printf("new: %p\n", p);
    } catch (const std::bad_alloc&) {
        std::printf("new: bad_alloc, handler calls %d\n", g_calls);
    }
    g_calls = 0;
    std::set_new_handler(&give_up_after_three);
    void* q = ::operator new(huge, std::nothrow);
    std::printf("nothrow new: %s, handler calls %d\n", q == nullptr ? "null" : "a block", g_calls);
    return 0;
}
