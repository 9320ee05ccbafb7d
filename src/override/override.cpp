// override: the whole malloc family and every operator new/delete form over
// heapkit malloc. Linked into libheapkit.so (LD_PRELOAD) and into programs
// through heapkit::malloc.
//
// Behaviour where glibc and the standards differ follows glibc 2.36:
//   - malloc(0) returns a unique 16-byte block; free keeps errno;
//   - calloc overflow -> NULL, errno = ENOMEM;
//   - realloc(NULL, n) = malloc(n); realloc(p, 0) frees p and returns NULL;
//     a failed realloc keeps p valid and sets ENOMEM;
//   - posix_memalign: EINVAL unless align is a power of two multiple of
//     sizeof(void*); *memptr untouched on error; errno unchanged;
//   - aligned_alloc: NULL + EINVAL for a non-power-of-two alignment (C17 lets
//     an implementation fail; glibc 2.36 rounds it up — we are stricter);
//   - memalign: alignments that are not powers of two are rounded up (glibc);
//     EINVAL above 2^63, ENOMEM for 2^63 itself (glibc);
//   - valloc / pvalloc: page-aligned; pvalloc rounds the size up to pages;
//   - mallopt accepts and ignores every parameter (returns 1);
//     malloc_trim returns 1 when memory went back to the OS;
//     mallinfo/mallinfo2 report heapkit's figures (arena = mapped bytes,
//     uordblks = live block bytes, fordblks = mapped - live).
// operator new follows [new.delete]: on failure call the std::new_handler
// until it succeeds or none is installed, then throw std::bad_alloc; the
// nothrow forms return nullptr. Sized and aligned deletes do not check the
// size (a heapkit block knows its own).
#include <heapkit/malloc.hpp>

#include "malloc/heap.hpp"  // the inline fast paths, so malloc/free/new/delete make no extra call

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>

#include <cstdlib>

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#define HK_API extern "C" __attribute__((visibility("default")))
#define HK_CXX __attribute__((visibility("default")))

namespace {

constexpr std::size_t page = 4096;

#if HEAPKIT_OVERRIDE_SHARED
// libheapkit.so does not load the C++ runtime: a C program (python3, redis,
// sqlite3) would map libstdc++, libm and libgcc_s for nothing, over 1 MiB of
// RSS. Only operator new's failure path needs the runtime, so it looks the
// runtime's functions up when it runs (a program that calls operator new has
// a C++ runtime loaded): std::get_new_handler, std::__throw_bad_alloc (both
// libstdc++ and libc++ export them), and for the nothrow forms with a
// new_handler installed, the runtime's own nothrow operator new, which calls
// our throwing one inside its try/catch(...) — the standard's definition.
// This file is then built with -fno-exceptions and refers to nothing of the
// C++ runtime; the exceptions thrown through it still unwind (.eh_frame).
//
// The runtime is looked for in the global scope first (a C++ program), then
// in the runtime libraries by name among those already loaded: a C program
// (python3) may have loaded C++ code with dlopen(RTLD_LOCAL), which keeps its
// libstdc++ out of the global scope.
constexpr const char* cxx_runtimes[] = {"libstdc++.so.6", "libc++.so.1", "libc++abi.so.1"};

// `name` as a loaded C++ runtime library defines it (not as libheapkit.so does), or nullptr.
void* runtime_library_symbol(const char* name) noexcept {
    for (const char* lib : cxx_runtimes) {
        void* h = ::dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);  // only if already loaded
        if (h == nullptr) continue;
        void* f = ::dlsym(h, name);
        ::dlclose(h);  // drops the reference RTLD_NOLOAD took; whoever loaded it keeps it loaded
        if (f != nullptr) return f;
    }
    return nullptr;
}

void* runtime_symbol(const char* name) noexcept {
    void* f = ::dlsym(RTLD_DEFAULT, name);
    return f != nullptr ? f : runtime_library_symbol(name);
}

std::new_handler current_new_handler() noexcept {
    using get_fn = std::new_handler (*)() noexcept;
    auto get = reinterpret_cast<get_fn>(runtime_symbol("_ZSt15get_new_handlerv"));
    return get != nullptr ? get() : nullptr;
}

[[noreturn]] void throw_bad_alloc() {
    using throw_fn = void (*)();
    auto fn = reinterpret_cast<throw_fn>(runtime_symbol("_ZSt17__throw_bad_allocv"));
    if (fn != nullptr) fn();
    static const char msg[] = "heapkit: operator new: out of memory; no C++ runtime found to throw std::bad_alloc\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::abort();
}

// The runtime's own nothrow operator new `name` (RTLD_NEXT skips ours), or nullptr.
void* runtime_nothrow_new(const char* name) noexcept {
    void* f = ::dlsym(RTLD_NEXT, name);
    return f != nullptr ? f : runtime_library_symbol(name);
}
#else
std::new_handler current_new_handler() noexcept { return std::get_new_handler(); }
[[noreturn]] void throw_bad_alloc() { throw std::bad_alloc(); }
#endif

[[gnu::noinline]] void* new_loop(std::size_t n, std::size_t align) {
    for (;;) {
        void* p = align <= 16 ? hk_malloc(n) : hk_aligned_alloc(align, n);
        if (p != nullptr) return p;
        std::new_handler handler = current_new_handler();
        if (handler == nullptr) throw_bad_alloc();
        handler();
    }
}

void* new_nothrow(std::size_t n, std::size_t align) noexcept {
    void* p = align <= 16 ? hk_malloc(n) : hk_aligned_alloc(align, n);
    if (p != nullptr || current_new_handler() == nullptr) return p;
#if HEAPKIT_OVERRIDE_SHARED
    // The handler may throw: let the runtime's nothrow new (next in lookup order) catch around our throwing new.
    using nothrow_fn = void* (*)(std::size_t, const std::nothrow_t&) noexcept;
    using nothrow_aligned_fn = void* (*)(std::size_t, std::align_val_t, const std::nothrow_t&) noexcept;
    const std::nothrow_t tag{};
    if (align <= 16) {
        auto next = reinterpret_cast<nothrow_fn>(runtime_nothrow_new("_ZnwmRKSt9nothrow_t"));
        if (next != nullptr) return next(n, tag);
    } else {
        auto next = reinterpret_cast<nothrow_aligned_fn>(runtime_nothrow_new("_ZnwmSt11align_val_tRKSt9nothrow_t"));
        if (next != nullptr) return next(n, std::align_val_t{align}, tag);
    }
    return nullptr;  // no runtime found: nobody could have installed the handler through it
#else
    try {
        return new_loop(n, align);
    } catch (...) {
        return nullptr;
    }
#endif
}

// operator new(size): the inline fast path, then the new_handler loop.
inline void* new_default(std::size_t n) {
    void* p = heapkit::hkmalloc::heap_malloc(n);
    if (__builtin_expect(p != nullptr, 1)) return p;
    return new_loop(n, 16);
}

std::size_t round_to_power_of_two(std::size_t a) noexcept {
    if (a <= 16) return 16;
    if ((a & (a - 1)) == 0) return a;
    return std::size_t{1} << (64 - __builtin_clzll(a));
}

}  // namespace

HK_API void* malloc(std::size_t n) noexcept { return heapkit::hkmalloc::heap_malloc(n); }

HK_API void free(void* p) noexcept { heapkit::hkmalloc::heap_free(p); }

HK_API void* calloc(std::size_t n, std::size_t m) noexcept { return hk_calloc(n, m); }

HK_API void* realloc(void* p, std::size_t n) noexcept { return hk_realloc(p, n); }

HK_API void* reallocarray(void* p, std::size_t n, std::size_t m) noexcept {
    std::size_t total;
    if (__builtin_mul_overflow(n, m, &total)) {
        errno = ENOMEM;
        return nullptr;
    }
    return hk_realloc(p, total);
}

HK_API int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
    if (align == 0 || (align & (align - 1)) != 0 || align % sizeof(void*) != 0) return EINVAL;
    const int saved = errno;
    void* p = hk_aligned_alloc(align, n);
    errno = saved;
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
}

HK_API void* aligned_alloc(std::size_t align, std::size_t n) noexcept { return hk_aligned_alloc(align, n); }

HK_API void* memalign(std::size_t align, std::size_t n) noexcept {
    // glibc: EINVAL only above 2^63 (which cannot be rounded up); 2^63 itself fails with ENOMEM.
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return nullptr;
    }
    return hk_aligned_alloc(round_to_power_of_two(align), n);
}

HK_API void* valloc(std::size_t n) noexcept { return hk_aligned_alloc(page, n); }

HK_API void* pvalloc(std::size_t n) noexcept {
    if (n > SIZE_MAX - (page - 1)) {
        errno = ENOMEM;
        return nullptr;
    }
    return hk_aligned_alloc(page, n == 0 ? page : (n + page - 1) & ~(page - 1));
}

HK_API std::size_t malloc_usable_size(void* p) noexcept { return hk_usable_size(p); }

HK_API int malloc_trim(std::size_t) noexcept { return hk_trim(); }

HK_API void malloc_stats(void) noexcept { hk_print_stats(2); }

HK_API int mallopt(int, int) noexcept { return 1; }

HK_API struct mallinfo2 mallinfo2(void) noexcept {
    const heapkit::gp_statistics s = heapkit::gp_stats();
    struct mallinfo2 mi {};
    mi.arena = s.mapped_bytes;
    mi.uordblks = s.live_block_bytes;
    mi.fordblks = s.mapped_bytes > s.live_block_bytes ? s.mapped_bytes - s.live_block_bytes : 0;
    mi.usmblks = s.mapped_peak;
    return mi;
}

HK_API struct mallinfo mallinfo(void) noexcept {
    const struct mallinfo2 m2 = mallinfo2();
    struct mallinfo mi {};
    mi.arena = static_cast<int>(m2.arena);
    mi.uordblks = static_cast<int>(m2.uordblks);
    mi.fordblks = static_cast<int>(m2.fordblks);
    mi.usmblks = static_cast<int>(m2.usmblks);
    return mi;
}

HK_API void free_sized(void* p, std::size_t n) noexcept { hk_free_sized(p, n); }

HK_API void free_aligned_sized(void* p, std::size_t align, std::size_t n) noexcept {
    hk_free_aligned_sized(p, align, n);
}

// glibc's internal names, used by some programs and by libc itself.
HK_API void* __libc_malloc(std::size_t n) noexcept { return heapkit::hkmalloc::heap_malloc(n); }
HK_API void __libc_free(void* p) noexcept { heapkit::hkmalloc::heap_free(p); }
HK_API void* __libc_calloc(std::size_t n, std::size_t m) noexcept { return hk_calloc(n, m); }
HK_API void* __libc_realloc(void* p, std::size_t n) noexcept { return hk_realloc(p, n); }
HK_API void* __libc_memalign(std::size_t a, std::size_t n) noexcept { return memalign(a, n); }
HK_API void* __libc_valloc(std::size_t n) noexcept { return valloc(n); }
HK_API void* __libc_pvalloc(std::size_t n) noexcept { return pvalloc(n); }

// ---- operator new / delete: all 20 replaceable forms ----

#define HK_ALIGN(al) static_cast<std::size_t>(al)

HK_CXX void* operator new(std::size_t n) { return new_default(n); }
HK_CXX void* operator new[](std::size_t n) { return new_default(n); }
HK_CXX void* operator new(std::size_t n, std::align_val_t al) { return new_loop(n, HK_ALIGN(al)); }
HK_CXX void* operator new[](std::size_t n, std::align_val_t al) { return new_loop(n, HK_ALIGN(al)); }
HK_CXX void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return new_nothrow(n, 16); }
HK_CXX void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return new_nothrow(n, 16); }
HK_CXX void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    return new_nothrow(n, HK_ALIGN(al));
}
HK_CXX void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    return new_nothrow(n, HK_ALIGN(al));
}

HK_CXX void operator delete(void* p) noexcept { heapkit::hkmalloc::heap_free(p); }
HK_CXX void operator delete[](void* p) noexcept { heapkit::hkmalloc::heap_free(p); }
HK_CXX void operator delete(void* p, std::align_val_t) noexcept { hk_free(p); }
HK_CXX void operator delete[](void* p, std::align_val_t) noexcept { hk_free(p); }
HK_CXX void operator delete(void* p, std::size_t) noexcept { heapkit::hkmalloc::heap_free(p); }
HK_CXX void operator delete[](void* p, std::size_t) noexcept { heapkit::hkmalloc::heap_free(p); }
HK_CXX void operator delete(void* p, std::size_t n, std::align_val_t al) noexcept {
    hk_free_aligned_sized(p, HK_ALIGN(al), n);
}
HK_CXX void operator delete[](void* p, std::size_t n, std::align_val_t al) noexcept {
    hk_free_aligned_sized(p, HK_ALIGN(al), n);
}
HK_CXX void operator delete(void* p, const std::nothrow_t&) noexcept { hk_free(p); }
HK_CXX void operator delete[](void* p, const std::nothrow_t&) noexcept { hk_free(p); }
HK_CXX void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { hk_free(p); }
HK_CXX void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { hk_free(p); }
