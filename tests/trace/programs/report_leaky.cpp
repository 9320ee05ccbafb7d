// report_leaky: a program for report_test's end-to-end case, recorded by
// `heapkit profile` and reported by `heapkit report`. Built with -g -O0.
// leak_here() leaks 1000 + 1001 + 1002 = 3003 bytes from its marked line;
// churn() allocates and frees at once (temporaries); an inline helper
// allocates from an inlined frame and frees its blocks. The test finds the
// lines by their end-of-line markers.
#include <cstdlib>

extern "C" {
__attribute__((noinline)) void* leak_here(std::size_t n) {
    void* p = std::malloc(n);  // LEAK_LINE
    asm volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) void churn(int rounds) {
    for (int i = 0; i < rounds; ++i) {
        void* p = std::malloc(64);  // CHURN_LINE
        asm volatile("" : : "r"(p) : "memory");
        std::free(p);
    }
}
}

static inline __attribute__((always_inline)) void* inline_helper(std::size_t n) {
    return std::malloc(n);  // INLINE_LINE
}

__attribute__((noinline)) void uses_inline() {
    void* a = inline_helper(500);
    void* b = inline_helper(700);
    asm volatile("" : : "r"(a), "r"(b) : "memory");
    std::free(a);
    std::free(b);
}

int main() {
    static void* volatile kept[3];
    for (int i = 0; i < 3; ++i) kept[i] = leak_here(1000 + static_cast<std::size_t>(i));
    churn(10);
    uses_inline();
    return 0;
}
