// A library loaded with dlopen by the lifecycle tests: its constructor
// allocates, it hands out blocks that the main program frees after
// dlclose, and it frees blocks the main program allocated. Its static
// objects (a std::vector, a std::string) are destroyed at dlclose.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {
std::vector<std::string> g_names;  // built by the constructor, destroyed by dlclose
void* g_ctor_block = nullptr;
}  // namespace

__attribute__((constructor)) static void dl_init() {
    for (int i = 0; i < 100; ++i) g_names.push_back("name number " + std::to_string(i) + std::string(40, 'n'));
    g_ctor_block = std::malloc(5000);
    std::memset(g_ctor_block, 0x6b, 5000);
}

__attribute__((destructor)) static void dl_fini() {
    // allocation during dlclose
    void* p = std::malloc(300);
    std::memset(p, 1, 300);
    std::free(p);
}

extern "C" {
// The constructor's block (5000 bytes of 0x6b); the caller owns it.
__attribute__((visibility("default"))) void* dl_ctor_block() {
    void* b = g_ctor_block;
    g_ctor_block = nullptr;
    return b;
}
// A block of n bytes filled with seed + i; the caller frees it (possibly after dlclose).
__attribute__((visibility("default"))) void* dl_make(std::size_t n, unsigned char seed) {
    auto* p = static_cast<unsigned char*>(std::malloc(n));
    if (p == nullptr) return nullptr;
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(seed + i);
    return p;
}
// Frees a block the main program allocated, after checking it holds n bytes of `value`.
__attribute__((visibility("default"))) bool dl_check_and_free(void* p, std::size_t n, unsigned char value) {
    const auto* b = static_cast<const unsigned char*>(p);
    bool ok = true;
    for (std::size_t i = 0; i < n; ++i) ok = ok && b[i] == value;
    std::free(p);
    return ok && g_names.size() == 100 && g_names[99].rfind("name number 99", 0) == 0;
}
}
