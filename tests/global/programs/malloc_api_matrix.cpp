// malloc_api_matrix: calls every function of the malloc family and every
// replaceable operator new/delete form with normal and edge arguments and
// prints one line per case:
//
//   name: result errno
//
// `result` is what the call gave back, reduced to something allocator
// independent where possible ("ptr", "null", "aligned", "zeroed", a return
// code); `errno` is the symbolic errno after the call (errno is set to 0
// before each call, except where the case checks that a call keeps it).
// tests/global/malloc_api_matrix_test.cpp runs this program twice — on
// glibc, and with LD_PRELOAD=libheapkit.so — and compares the two columns
// line by line against a documented allow-list of intended differences.
//
// Built with -fno-builtin so the compiler does not fold the calls it knows.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

namespace {

void* volatile sink;
// Sizes the compiler cannot see (no -Walloc-size-larger-than, no folding).
volatile std::size_t v_max = SIZE_MAX;
volatile std::size_t v_half = SIZE_MAX / 2;
volatile std::size_t v_top_bit = SIZE_MAX / 2 + 1;  // 2^63
volatile std::size_t v_eight = 8;

const char* errno_name(int e) {
    switch (e) {
        case 0:
            return "0";
        case ENOMEM:
            return "ENOMEM";
        case EINVAL:
            return "EINVAL";
        case 77:
            return "77";
        default:
            return "other";
    }
}

void line(const char* name, const std::string& result, int err) {
    std::printf("%s: %s %s\n", name, result.c_str(), errno_name(err));
}

std::string ptr(const void* p) { return p != nullptr ? "ptr" : "null"; }

bool aligned(const void* p, std::size_t a) { return reinterpret_cast<std::uintptr_t>(p) % a == 0; }

// "ptr aligned" / "ptr misaligned" / "null"
std::string aligned_ptr(const void* p, std::size_t a) {
    if (p == nullptr) return "null";
    return aligned(p, a) ? "ptr aligned" : "ptr misaligned";
}

void fill(void* p, std::size_t n, unsigned char seed) {
    auto* b = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(seed + i * 7);
}
bool intact(const void* p, std::size_t n, unsigned char seed) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        if (b[i] != static_cast<unsigned char>(seed + i * 7)) return false;
    return true;
}
bool zeroed(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        if (b[i] != 0) return false;
    return true;
}

template <typename F>
F lookup(const char* name) {
    return reinterpret_cast<F>(::dlsym(RTLD_DEFAULT, name));
}

// ---- which allocator answers ----
void identity() {
    using owns_fn = bool (*)(const void*);
    auto owns = lookup<owns_fn>("hk_owns");
    void* p = std::malloc(10);
    line("allocator", owns != nullptr && owns(p) ? "heapkit" : "glibc", 0);
    std::free(p);
}

// ---- malloc, free ----
void malloc_cases() {
    errno = 0;
    void* p = std::malloc(0);
    line("malloc(0)", ptr(p), errno);
    errno = 0;
    void* q = std::malloc(0);
    line("malloc(0) twice is unique", p != q ? "yes" : "no", errno);
    std::free(p);
    std::free(q);
    errno = 0;
    p = std::malloc(1);
    line("malloc(1) 16-aligned", aligned_ptr(p, 16), errno);
    std::free(p);
    for (std::size_t n : {24u, 100u, 1000u, 5000u, 70000u, 300000u, 2000000u, 40000000u}) {
        errno = 0;
        p = std::malloc(n);
        const bool ok = p != nullptr && aligned(p, 16);
        if (p != nullptr) fill(p, n, 3);
        const std::string name = "malloc(" + std::to_string(n) + ") 16-aligned, writable";
        line(name.c_str(), ok && intact(p, n, 3) ? "yes" : "no", errno);
        std::free(p);
    }
    errno = 0;
    p = std::malloc(v_max);
    line("malloc(SIZE_MAX)", ptr(p), errno);
    errno = 0;
    p = std::malloc(v_half);
    line("malloc(SIZE_MAX/2)", ptr(p), errno);
    errno = 0;
    p = std::malloc(v_max - 4096);
    line("malloc(SIZE_MAX-4096)", ptr(p), errno);

    errno = 77;
    std::free(nullptr);
    line("free(NULL) keeps errno", "done", errno);
    p = std::malloc(100);
    errno = 77;
    std::free(p);
    line("free(small) keeps errno", "done", errno);
    p = std::malloc(5000000);
    errno = 77;
    std::free(p);
    line("free(huge) keeps errno", "done", errno);
}

// ---- calloc ----
void calloc_cases() {
    errno = 0;
    void* p = std::calloc(100, 10);
    line("calloc(100,10) zeroed", p != nullptr && zeroed(p, 1000) ? "yes" : "no", errno);
    std::free(p);
    // a block reused after free must still come back zeroed
    for (int i = 0; i < 3; ++i) {
        void* d = std::malloc(1000);
        std::memset(d, 0xff, 1000);
        std::free(d);
    }
    errno = 0;
    p = std::calloc(1, 1000);
    line("calloc(1,1000) after dirty frees zeroed", p != nullptr && zeroed(p, 1000) ? "yes" : "no", errno);
    std::free(p);
    errno = 0;
    p = std::calloc(3, 1000000);
    line("calloc(3,1000000) zeroed", p != nullptr && zeroed(p, 3000000) ? "yes" : "no", errno);
    std::free(p);
    errno = 0;
    p = std::calloc(0, 0);
    line("calloc(0,0)", ptr(p), errno);
    std::free(p);
    errno = 0;
    p = std::calloc(0, v_max);
    line("calloc(0,SIZE_MAX)", ptr(p), errno);
    std::free(p);
    errno = 0;
    p = std::calloc(v_half, v_eight);
    line("calloc(SIZE_MAX/2,8) overflow", ptr(p), errno);
    errno = 0;
    p = std::calloc(v_eight, v_half);
    line("calloc(8,SIZE_MAX/2) overflow", ptr(p), errno);
    errno = 0;
    p = std::calloc(1, v_half);
    line("calloc(1,SIZE_MAX/2)", ptr(p), errno);
}

// ---- realloc, reallocarray ----
void realloc_cases() {
    errno = 0;
    void* p = std::realloc(nullptr, 32);
    line("realloc(NULL,32)", ptr(p), errno);
    fill(p, 32, 9);
    errno = 0;
    void* q = std::realloc(p, 100000);
    line("realloc grow 32->100000 keeps contents", q != nullptr && intact(q, 32, 9) ? "yes" : "no", errno);
    fill(q, 100000, 5);
    errno = 0;
    p = std::realloc(q, 3000000);
    line("realloc grow 100000->3000000 keeps contents", p != nullptr && intact(p, 100000, 5) ? "yes" : "no", errno);
    fill(p, 3000000, 6);
    errno = 0;
    q = std::realloc(p, 40);
    line("realloc shrink 3000000->40 keeps contents", q != nullptr && intact(q, 40, 6) ? "yes" : "no", errno);
    errno = 0;
    p = std::realloc(q, v_max - 100);
    line("realloc(p,SIZE_MAX-100) fails", ptr(p), errno);
    line("realloc failure keeps p", intact(q, 40, 6) ? "yes" : "no", 0);
    errno = 0;
    p = std::realloc(q, v_half);
    line("realloc(p,SIZE_MAX/2) fails", ptr(p), errno);
    errno = 0;
    p = std::realloc(q, 0);
    line("realloc(p,0) frees", ptr(p), errno);
    errno = 0;
    p = std::realloc(nullptr, 0);
    line("realloc(NULL,0)", ptr(p), errno);
    std::free(p);

    errno = 0;
    p = reallocarray(nullptr, 10, 10);
    line("reallocarray(NULL,10,10)", ptr(p), errno);
    fill(p, 100, 1);
    errno = 0;
    q = reallocarray(p, 100, 100);
    line("reallocarray grow keeps contents", q != nullptr && intact(q, 100, 1) ? "yes" : "no", errno);
    errno = 0;
    p = reallocarray(q, v_half, v_eight);
    line("reallocarray(p,SIZE_MAX/2,8) overflow", ptr(p), errno);
    line("reallocarray overflow keeps p", intact(q, 100, 1) ? "yes" : "no", 0);
    errno = 0;
    p = reallocarray(q, 0, 8);
    line("reallocarray(p,0,8) frees", ptr(p), errno);
    errno = 0;
    p = reallocarray(nullptr, v_half, v_eight);
    line("reallocarray(NULL,SIZE_MAX/2,8) overflow", ptr(p), errno);
}

// ---- aligned allocation ----
void posix_memalign_cases() {
    struct {
        const char* name;
        std::size_t align;
        std::size_t size;
    } cases[] = {
        {"posix_memalign(align 0)", 0, 10},
        {"posix_memalign(align 4)", 4, 10},
        {"posix_memalign(align 8)", 8, 10},
        {"posix_memalign(align 12)", 12, 10},
        {"posix_memalign(align 24)", 24, 10},
        {"posix_memalign(align 16)", 16, 10},
        {"posix_memalign(align 64, size 0)", 64, 0},
        {"posix_memalign(align 4096)", 4096, 100},
        {"posix_memalign(align 65536, size 70000)", 65536, 70000},
        {"posix_memalign(align 2 MiB)", std::size_t{1} << 21, 100},
        {"posix_memalign(align 2^63)", v_top_bit, 10},
        {"posix_memalign(align 64, size SIZE_MAX)", 64, v_max},
        {"posix_memalign(align 64, size SIZE_MAX/2)", 64, v_half},
    };
    for (const auto& c : cases) {
        void* out = reinterpret_cast<void*>(0x1234);
        errno = 77;
        const int rc = posix_memalign(&out, c.align, c.size);
        std::string result = rc == 0 ? "0" : rc == EINVAL ? "EINVAL" : rc == ENOMEM ? "ENOMEM" : "other";
        if (rc == 0) {
            result += aligned(out, c.align) ? " aligned" : " misaligned";
            std::free(out);
        } else {
            result += out == reinterpret_cast<void*>(0x1234) ? " untouched" : " overwritten";
        }
        line(c.name, result, errno);  // errno was 77 before the call
    }
}

void aligned_alloc_cases() {
    struct {
        const char* name;
        std::size_t align;
        std::size_t size;
        std::size_t check;  // alignment to check
    } cases[] = {
        {"aligned_alloc(0,16)", 0, 16, 1},
        {"aligned_alloc(1,16)", 1, 16, 1},
        {"aligned_alloc(3,16)", 3, 16, 1},
        {"aligned_alloc(8,16)", 8, 16, 8},
        {"aligned_alloc(48,100)", 48, 100, 16},
        {"aligned_alloc(64,64)", 64, 64, 64},
        {"aligned_alloc(64,65) size not a multiple", 64, 65, 64},
        {"aligned_alloc(4096,0)", 4096, 0, 4096},
        {"aligned_alloc(65536,100)", 65536, 100, 65536},
        {"aligned_alloc(4 MiB,100)", std::size_t{1} << 22, 100, std::size_t{1} << 22},
        {"aligned_alloc(16 MiB,100)", std::size_t{1} << 24, 100, std::size_t{1} << 24},
        {"aligned_alloc(2^63,10)", v_top_bit, 10, 1},
        {"aligned_alloc(64,SIZE_MAX)", 64, v_max, 1},
    };
    for (const auto& c : cases) {
        errno = 0;
        void* p = std::aligned_alloc(c.align, c.size);
        line(c.name, aligned_ptr(p, c.check), errno);
        std::free(p);
    }
}

void memalign_cases() {
    struct {
        const char* name;
        std::size_t align;
        std::size_t size;
        std::size_t check;
    } cases[] = {
        {"memalign(0,10)", 0, 10, 16},
        {"memalign(3,10)", 3, 10, 4},
        {"memalign(48,100) rounded to 64", 48, 100, 64},
        {"memalign(256,1000)", 256, 1000, 256},
        {"memalign(1 MiB,10)", std::size_t{1} << 20, 10, std::size_t{1} << 20},
        {"memalign(2^63,10)", v_top_bit, 10, 1},
        {"memalign(2^63+1,10)", v_top_bit + 1, 10, 1},
        {"memalign(64,SIZE_MAX)", 64, v_max, 1},
    };
    for (const auto& c : cases) {
        errno = 0;
        void* p = memalign(c.align, c.size);
        line(c.name, aligned_ptr(p, c.check), errno);
        std::free(p);
    }
    errno = 0;
    void* p = valloc(0);
    line("valloc(0)", aligned_ptr(p, 4096), errno);
    std::free(p);
    errno = 0;
    p = valloc(10);
    line("valloc(10)", aligned_ptr(p, 4096), errno);
    std::free(p);
    errno = 0;
    p = valloc(v_max);
    line("valloc(SIZE_MAX)", ptr(p), errno);
    errno = 0;
    p = pvalloc(0);
    line("pvalloc(0) one page", p != nullptr && aligned(p, 4096) && malloc_usable_size(p) >= 4096 ? "yes" : "no",
         errno);
    std::free(p);
    errno = 0;
    p = pvalloc(5000);
    line("pvalloc(5000) two pages", p != nullptr && aligned(p, 4096) && malloc_usable_size(p) >= 8192 ? "yes" : "no",
         errno);
    if (p != nullptr) std::memset(p, 1, 8192);  // the rounded size is usable
    std::free(p);
    errno = 0;
    p = pvalloc(v_max);
    line("pvalloc(SIZE_MAX)", ptr(p), errno);
    errno = 0;
    p = pvalloc(v_max - 10000);
    line("pvalloc(SIZE_MAX-10000)", ptr(p), errno);
}

// ---- introspection ----
void introspection_cases() {
    errno = 0;
    line("malloc_usable_size(NULL)", std::to_string(malloc_usable_size(nullptr)), errno);
    for (std::size_t n : {1u, 100u, 1000u, 100000u, 1000000u}) {
        void* p = std::malloc(n);
        errno = 0;
        const std::size_t u = malloc_usable_size(p);
        std::string name = "malloc_usable_size(malloc(" + std::to_string(n) + ")) >= n";
        line(name.c_str(), u >= n ? "yes" : "no", errno);
        std::memset(p, 0x33, u);  // all of it is usable
        name = "malloc_usable_size(malloc(" + std::to_string(n) + ")) value";
        line(name.c_str(), std::to_string(u), errno);
        std::free(p);
    }

    void* big = std::malloc(1 << 20);
    std::memset(big, 1, 1 << 20);
    errno = 0;
    const struct mallinfo2 m2 = mallinfo2();
    line("mallinfo2 in-use bytes >= 1 MiB (uordblks + hblkhd)", m2.uordblks + m2.hblkhd >= (1u << 20) ? "yes" : "no",
         errno);
    line("mallinfo2 arena", std::to_string(m2.arena), 0);
    line("mallinfo2 uordblks", std::to_string(m2.uordblks), 0);
    line("mallinfo2 hblkhd", std::to_string(m2.hblkhd), 0);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    errno = 0;
    const struct mallinfo m1 = mallinfo();
#pragma GCC diagnostic pop
    line("mallinfo in-use bytes >= 1 MiB (uordblks + hblkhd)",
         static_cast<std::size_t>(m1.uordblks) + static_cast<std::size_t>(m1.hblkhd) >= (1u << 20) ? "yes" : "no",
         errno);
    std::free(big);

    errno = 0;
    line("mallopt(M_ARENA_MAX,2)", std::to_string(mallopt(M_ARENA_MAX, 2)), errno);
    errno = 0;
    line("mallopt(M_MMAP_THRESHOLD,1 MiB)", std::to_string(mallopt(M_MMAP_THRESHOLD, 1 << 20)), errno);
    errno = 0;
    line("mallopt(M_MXFAST,1000000) out of range", std::to_string(mallopt(M_MXFAST, 1000000)), errno);
    errno = 0;
    line("mallopt(12345,0) unknown parameter", std::to_string(mallopt(12345, 0)), errno);

    // a lot freed, then trimmed
    void* blocks[2000];
    for (auto& b : blocks) {
        b = std::malloc(3000);
        std::memset(b, 1, 3000);
    }
    for (auto& b : blocks) std::free(b);
    errno = 0;
    const int trimmed = malloc_trim(0);
    line("malloc_trim(0) after freeing 6 MB", std::to_string(trimmed), errno);
    errno = 0;
    const int again = malloc_trim(0);
    line("malloc_trim(0) returns 0 or 1", again == 0 || again == 1 ? "yes" : "no", errno);

    // malloc_stats writes to stderr: catch it in a pipe
    int fds[2];
    if (::pipe(fds) == 0) {
        std::fflush(stderr);
        const int saved = ::dup(2);
        ::dup2(fds[1], 2);
        errno = 0;
        malloc_stats();
        const int err = errno;
        std::fflush(stderr);
        ::dup2(saved, 2);
        ::close(saved);
        ::close(fds[1]);
        char buf[256];
        const ssize_t got = ::read(fds[0], buf, sizeof buf);
        ::close(fds[0]);
        line("malloc_stats writes to stderr", got > 0 ? "yes" : "no", err);
    }
}

// ---- C23 sized frees (glibc 2.36 has none) ----
void sized_free_cases() {
    using free_sized_fn = void (*)(void*, std::size_t);
    using free_aligned_sized_fn = void (*)(void*, std::size_t, std::size_t);
    auto fs = lookup<free_sized_fn>("free_sized");
    auto fas = lookup<free_aligned_sized_fn>("free_aligned_sized");
    if (fs == nullptr) {
        line("free_sized", "absent", 0);
    } else {
        void* p = std::malloc(100);
        errno = 77;
        fs(p, 100);
        fs(nullptr, 0);
        line("free_sized", "done", errno);
    }
    if (fas == nullptr) {
        line("free_aligned_sized", "absent", 0);
    } else {
        void* p = std::aligned_alloc(256, 1000);
        errno = 77;
        fas(p, 256, 1000);
        fas(nullptr, 64, 0);
        line("free_aligned_sized", "done", errno);
    }
}

// ---- glibc's internal names ----
void libc_alias_cases() {
    using malloc_fn = void* (*)(std::size_t);
    using free_fn = void (*)(void*);
    using calloc_fn = void* (*)(std::size_t, std::size_t);
    using realloc_fn = void* (*)(void*, std::size_t);
    using memalign_fn = void* (*)(std::size_t, std::size_t);
    auto l_malloc = lookup<malloc_fn>("__libc_malloc");
    auto l_free = lookup<free_fn>("__libc_free");
    auto l_calloc = lookup<calloc_fn>("__libc_calloc");
    auto l_realloc = lookup<realloc_fn>("__libc_realloc");
    auto l_memalign = lookup<memalign_fn>("__libc_memalign");
    auto l_valloc = lookup<malloc_fn>("__libc_valloc");
    auto l_pvalloc = lookup<malloc_fn>("__libc_pvalloc");
    if (!l_malloc || !l_free || !l_calloc || !l_realloc || !l_memalign || !l_valloc || !l_pvalloc) {
        line("__libc_* aliases", "absent", 0);
        return;
    }
    // each pairs with the public names: blocks cross between them
    errno = 0;
    void* p = l_malloc(100);
    fill(p, 100, 4);
    void* q = std::realloc(p, 200);
    line("__libc_malloc then realloc", q != nullptr && intact(q, 100, 4) ? "yes" : "no", errno);
    l_free(q);
    errno = 0;
    p = l_calloc(10, 10);
    line("__libc_calloc zeroed", p != nullptr && zeroed(p, 100) ? "yes" : "no", errno);
    p = l_realloc(p, 5000);
    line("__libc_realloc", ptr(p), errno);
    std::free(p);
    errno = 0;
    p = l_calloc(v_half, v_eight);
    line("__libc_calloc overflow", ptr(p), errno);
    errno = 0;
    p = l_memalign(512, 10);
    line("__libc_memalign(512,10)", aligned_ptr(p, 512), errno);
    std::free(p);
    errno = 0;
    p = l_valloc(10);
    line("__libc_valloc(10)", aligned_ptr(p, 4096), errno);
    l_free(p);
    errno = 0;
    p = l_pvalloc(10);
    line("__libc_pvalloc(10)", aligned_ptr(p, 4096), errno);
    l_free(p);
    errno = 0;
    p = l_malloc(v_max);
    line("__libc_malloc(SIZE_MAX)", ptr(p), errno);
}

// ---- operator new / delete: the 20 replaceable forms ----
int g_handler_calls = 0;
void handler_then_give_up() {
    if (++g_handler_calls == 3) std::set_new_handler(nullptr);
}
struct handler_error {};
void handler_throws() {
    ++g_handler_calls;
    throw handler_error{};
}

// Runs `alloc` (which must fail) with `handler` as the new_handler (one that
// gives up after 3 calls, or one that throws handler_error); says how it
// ended and how many times the handler ran.
template <typename F>
std::string fail_with(std::new_handler handler, F alloc) {
    g_handler_calls = 0;
    std::set_new_handler(handler);
    std::string r;
    try {
        void* p = alloc();
        r = p == nullptr ? "null" : "ptr";
    } catch (const std::bad_alloc&) {
        r = "bad_alloc";
    } catch (const handler_error&) {
        r = "handler_error";
    }
    std::set_new_handler(nullptr);
    return r + " handler_calls=" + std::to_string(g_handler_calls);
}

void operator_new_cases() {
    const std::size_t huge = v_half;
    const std::align_val_t a64{64};
    const std::align_val_t a4k{4096};
    const std::nothrow_t& nt = std::nothrow;

    // normal sizes, each paired with a delete form: the 20 forms are all called
    void* p = ::operator new(100);
    line("new(100) / delete(p)", aligned_ptr(p, 16), 0);
    ::operator delete(p);
    p = ::operator new[](100);
    line("new[](100) / delete[](p)", aligned_ptr(p, 16), 0);
    ::operator delete[](p);
    p = ::operator new(100);
    line("new(100) / delete(p,100)", aligned_ptr(p, 16), 0);
    ::operator delete(p, 100);
    p = ::operator new[](100);
    line("new[](100) / delete[](p,100)", aligned_ptr(p, 16), 0);
    ::operator delete[](p, 100);
    p = ::operator new(0);
    void* q = ::operator new(0);
    line("new(0) unique", p != nullptr && q != nullptr && p != q ? "yes" : "no", 0);
    ::operator delete(p);
    ::operator delete(q);
    p = ::operator new(100, a64);
    line("new(100,al 64) / delete(p,al)", aligned_ptr(p, 64), 0);
    ::operator delete(p, a64);
    p = ::operator new[](100, a4k);
    line("new[](100,al 4096) / delete[](p,al)", aligned_ptr(p, 4096), 0);
    ::operator delete[](p, a4k);
    p = ::operator new(100, a64);
    line("new(100,al 64) / delete(p,100,al)", aligned_ptr(p, 64), 0);
    ::operator delete(p, 100, a64);
    p = ::operator new[](100, a64);
    line("new[](100,al 64) / delete[](p,100,al)", aligned_ptr(p, 64), 0);
    ::operator delete[](p, 100, a64);
    p = ::operator new(100, nt);
    line("new(100,nothrow) / delete(p,nothrow)", aligned_ptr(p, 16), 0);
    ::operator delete(p, nt);
    p = ::operator new[](100, nt);
    line("new[](100,nothrow) / delete[](p,nothrow)", aligned_ptr(p, 16), 0);
    ::operator delete[](p, nt);
    p = ::operator new(100, a4k, nt);
    line("new(100,al 4096,nothrow) / delete(p,al,nothrow)", aligned_ptr(p, 4096), 0);
    ::operator delete(p, a4k, nt);
    p = ::operator new[](100, std::align_val_t{std::size_t{1} << 21}, nt);
    line("new[](100,al 2 MiB,nothrow) / delete[](p,al,nothrow)", aligned_ptr(p, std::size_t{1} << 21), 0);
    ::operator delete[](p, std::align_val_t{std::size_t{1} << 21}, nt);
    ::operator delete(nullptr);
    ::operator delete[](nullptr, nt);
    ::operator delete(nullptr, 0, a64);
    line("delete(nullptr) forms", "done", 0);

    // failures: the new_handler loop, then bad_alloc or nullptr
    line("new(huge) with handler", fail_with(&handler_then_give_up, [&] { return ::operator new(huge); }), 0);
    line("new[](huge) with handler", fail_with(&handler_then_give_up, [&] { return ::operator new[](huge); }), 0);
    line("new(huge,al 64) with handler", fail_with(&handler_then_give_up, [&] { return ::operator new(huge, a64); }),
         0);
    line("new[](huge,al 64) with handler",
         fail_with(&handler_then_give_up, [&] { return ::operator new[](huge, a64); }), 0);
    line("new(huge,nothrow) with handler", fail_with(&handler_then_give_up, [&] { return ::operator new(huge, nt); }),
         0);
    line("new[](huge,nothrow) with handler",
         fail_with(&handler_then_give_up, [&] { return ::operator new[](huge, nt); }), 0);
    line("new(huge,al 64,nothrow) with handler",
         fail_with(&handler_then_give_up, [&] { return ::operator new(huge, a64, nt); }), 0);
    line("new[](huge,al 64,nothrow) with handler",
         fail_with(&handler_then_give_up, [&] { return ::operator new[](huge, a64, nt); }), 0);
    line("new(huge) without handler",
         fail_with(&handler_then_give_up,
                   [&] {
                       std::set_new_handler(nullptr);
                       return ::operator new(huge);
                   }),
         0);
    line("new(huge,nothrow) without handler",
         fail_with(&handler_then_give_up,
                   [&] {
                       std::set_new_handler(nullptr);
                       return ::operator new(huge, nt);
                   }),
         0);
    line("new(huge) handler throws its own", fail_with(&handler_throws, [&] { return ::operator new(huge); }), 0);
    line("new(huge,nothrow) handler throws", fail_with(&handler_throws, [&] { return ::operator new(huge, nt); }), 0);
    line("new(SIZE_MAX,al 4096) with handler",
         fail_with(&handler_then_give_up, [&] { return ::operator new(v_max, a4k); }), 0);
}

}  // namespace

int main() {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    identity();
    malloc_cases();
    calloc_cases();
    realloc_cases();
    posix_memalign_cases();
    aligned_alloc_cases();
    memalign_cases();
    introspection_cases();
    sized_free_cases();
    libc_alias_cases();
    operator_new_cases();
    std::printf("end: done 0\n");
    return 0;
}
