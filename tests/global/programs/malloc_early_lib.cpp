// A shared library whose constructor allocates before main (malloc, a
// std::string, a static std::vector), linked into
// tests/global/malloc_lifecycle_test.cpp and the lifecycle helper: under
// LD_PRELOAD=libheapkit.so or heapkit::malloc, those blocks must already be
// heapkit's, and main must be able to free them.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {
void* g_block = nullptr;
std::string* g_text = nullptr;
std::vector<int> g_numbers;  // dynamically initialised in this library's constructors
}  // namespace

__attribute__((constructor)) static void early_init() {
    g_block = std::malloc(1000);
    std::memset(g_block, 0x5e, 1000);
    g_text = new std::string(200, 'x');
    for (int i = 0; i < 1000; ++i) g_numbers.push_back(i);
}

// The block malloc'd by the constructor (1000 bytes of 0x5e); the caller frees it.
extern "C" __attribute__((visibility("default"))) void* hk_test_early_block() {
    void* b = g_block;
    g_block = nullptr;
    return b;
}

// True when what the constructor built is intact; frees the string.
extern "C" __attribute__((visibility("default"))) bool hk_test_early_intact() {
    bool ok =
        g_text != nullptr && *g_text == std::string(200, 'x') && g_numbers.size() == 1000 && g_numbers[999] == 999;
    delete g_text;
    g_text = nullptr;
    return ok;
}
