// next: looks up the next definitions once, serving dlsym's own allocations
// from a static buffer meanwhile. See next.hpp.
#include "trace/recorder/next.hpp"

#include "trace/recorder/inner.hpp"

#include <atomic>
#include <cstdint>

#include <dlfcn.h>
#include <unistd.h>

namespace heapkit::trace::recorder {

bool next_ready = false;
constinit next_fns next_table{};

namespace {

// The bootstrap arena: blocks are [size:8 bytes][data], bumped, never reused.
alignas(64) unsigned char bootstrap_buffer[64 * 1024];
std::atomic<std::size_t> bootstrap_used{0};
std::atomic<int> resolving{0};  // 1 while resolve_next() runs (in any thread)

template <class F>
void lookup(F& f, const char* name) noexcept {
    f = reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
    if (f == nullptr) {
        // Only a broken C library lacks one of these: say so and stop (no allocator to forward to).
        static const char msg[] =
            "heapkit-profile: dlsym(RTLD_NEXT) found no definition of a libc function; "
            "is libheapkit-profile.so preloaded into a glibc program?\n";
        (void)!::write(2, msg, sizeof msg - 1);
        ::_exit(127);
    }
}

}  // namespace

bool resolving_next() noexcept { return resolving.load(std::memory_order_relaxed) != 0; }

void* bootstrap_alloc(std::size_t size, std::size_t align) noexcept {
    if (align < 16) align = 16;
    for (;;) {
        std::size_t used = bootstrap_used.load(std::memory_order_relaxed);
        std::size_t data = (used + 8 + align - 1) & ~(align - 1);
        if (data + size > sizeof bootstrap_buffer) return nullptr;
        if (bootstrap_used.compare_exchange_weak(used, data + size, std::memory_order_relaxed)) {
            std::uint64_t s = size;
            __builtin_memcpy(bootstrap_buffer + data - 8, &s, 8);
            return bootstrap_buffer + data;
        }
    }
}

bool bootstrap_owns(const void* p) noexcept {
    auto a = reinterpret_cast<std::uintptr_t>(p);
    auto b = reinterpret_cast<std::uintptr_t>(bootstrap_buffer);
    return a >= b && a < b + sizeof bootstrap_buffer;
}

std::size_t bootstrap_size(const void* p) noexcept {
    std::uint64_t s;
    __builtin_memcpy(&s, static_cast<const unsigned char*>(p) - 8, 8);
    return s;
}

void resolve_next() noexcept {
    static std::atomic<int> done{0};  // 0 not started, 1 running, 2 done
    int expected = 0;
    if (!done.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
        while (done.load(std::memory_order_acquire) != 2) ::sched_yield();
        return;
    }
    resolving.store(1, std::memory_order_relaxed);
    next_fns& n = next_table;
    lookup(n.malloc, "malloc");
    lookup(n.free, "free");
    lookup(n.calloc, "calloc");
    lookup(n.realloc, "realloc");
    lookup(n.reallocarray, "reallocarray");
    lookup(n.posix_memalign, "posix_memalign");
    lookup(n.aligned_alloc, "aligned_alloc");
    lookup(n.memalign, "memalign");
    lookup(n.valloc, "valloc");
    lookup(n.pvalloc, "pvalloc");
    lookup(n.mmap, "mmap");
    lookup(n.munmap, "munmap");
    lookup(n.mremap, "mremap");
    lookup(n.dlopen, "dlopen");
    lookup(n.dlclose, "dlclose");
    lookup(n.fork, "fork");
    lookup(n.execve, "execve");
    lookup(n.execvpe, "execvpe");
    lookup(n.fexecve, "fexecve");
    lookup(n.exit, "exit");
    lookup(n.exit_now, "_exit");
    lookup(n.exit_now_c, "_Exit");
    lookup(n.abort, "abort");
    lookup(n.libc_start_main, "__libc_start_main");
    self_range_init();
    resolving.store(0, std::memory_order_relaxed);
    next_ready = true;
    done.store(2, std::memory_order_release);
}

}  // namespace heapkit::trace::recorder
