// libhk_glibc_shim.so: glibc's own malloc for a program that links another
// allocator. Debian's redis-server links libjemalloc, so preloading nothing
// would measure jemalloc under the name "glibc"; preloading this shim routes
// the malloc family to glibc's __libc_* entry points instead. Used by the
// benchmark runner for the "glibc" column of programs that link an allocator.
#include <cerrno>
#include <cstddef>
#include <cstdint>

#include <dlfcn.h>

extern "C" {
void* __libc_malloc(std::size_t);
void __libc_free(void*);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
}

#define SHIM extern "C" __attribute__((visibility("default")))

namespace {

using usable_fn = std::size_t (*)(void*);
usable_fn glibc_usable = nullptr;  // glibc's malloc_usable_size, looked up in libc.so.6 itself

__attribute__((constructor)) void find_usable() {
    if (void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD))
        glibc_usable = reinterpret_cast<usable_fn>(dlsym(libc, "malloc_usable_size"));
}

}  // namespace

SHIM void* malloc(std::size_t n) { return __libc_malloc(n); }
SHIM void free(void* p) { __libc_free(p); }
SHIM void* calloc(std::size_t c, std::size_t n) { return __libc_calloc(c, n); }
SHIM void* realloc(void* p, std::size_t n) { return __libc_realloc(p, n); }
SHIM void* memalign(std::size_t a, std::size_t n) { return __libc_memalign(a, n); }
SHIM void* aligned_alloc(std::size_t a, std::size_t n) { return __libc_memalign(a, n); }
SHIM int posix_memalign(void** out, std::size_t a, std::size_t n) {
    if (a < sizeof(void*) || (a & (a - 1)) != 0) return EINVAL;
    void* p = __libc_memalign(a, n);
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
}
SHIM std::size_t malloc_usable_size(void* p) {
    if (p == nullptr) return 0;
    if (glibc_usable != nullptr) return glibc_usable(p);
    // Before the constructor ran: glibc's chunk header (size, low 3 bits flags; bit 1 = mmapped).
    const std::size_t head = static_cast<std::size_t*>(p)[-1];
    return (head & ~std::size_t{7}) - ((head & 2) ? 16 : 8);
}
