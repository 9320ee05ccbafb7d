// os_memory: mappings for heapkit malloc and the out-of-memory recovery. See os_memory.hpp.
//
// The tight aligned mapping calls mmap itself: the platform layer
// (src/os/linux.cpp) has no call that maps at a chosen address, and the
// trimmed over-reservation it offers needs `align` bytes more than the
// request, which is what runs out first under an address-space limit.
#include "os_memory.hpp"

#include "heap.hpp"
#include "report.hpp"

#include <heapkit/layout.hpp>
#include <heapkit/os/linux.hpp>

#include <atomic>
#include <cerrno>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

namespace heapkit::hkmalloc {
namespace {

using os = heapkit::os::native;

constinit std::atomic<std::uint64_t> g_refused{0};
constinit std::atomic<std::uint64_t> g_recovered{0};
constinit std::atomic<int> g_overcommit_never{-1};  // vm.overcommit_memory == 2: -1 unknown, 0 no, 1 yes
// true while this thread runs heap_oom_reclaim (initial-exec: no allocation on first use, as tls_heap)
constinit thread_local bool tls_reclaiming __attribute__((tls_model("initial-exec"))) = false;

#if defined(HEAPKIT_MALLOC_TESTING)
constinit std::atomic<testing::map_fault_fn> g_fault{nullptr};
bool injected_fault(std::size_t size) noexcept {
    testing::map_fault_fn fn = g_fault.load(std::memory_order_acquire);
    return fn != nullptr && fn(size);
}
#else
constexpr bool injected_fault(std::size_t) noexcept { return false; }
#endif

// Aligned addresses tried below (then above) the place the kernel chose.
constexpr int tight_candidates = 8;

void* mmap_at(void* hint, std::size_t size, int prot) noexcept {
    const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (hint != nullptr ? MAP_FIXED_NOREPLACE : 0);
    void* p = ::mmap(hint, size, prot, flags, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

// `size` bytes at an `align`-aligned address without reserving `align` more:
// map `size` anywhere; if that is not aligned, unmap it and ask for the aligned
// addresses around it (the kernel fills the address space downwards, so the
// space just below its choice is usually free). Old kernels that ignore
// MAP_FIXED_NOREPLACE treat the address as a hint: a mapping elsewhere is undone.
void* map_tight(std::size_t size, std::size_t align, int prot) noexcept {
    void* p = mmap_at(nullptr, size, prot);
    if (p == nullptr || heapkit::is_aligned(p, align)) return p;
    ::munmap(p, size);
    const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t down = at & ~(std::uintptr_t{align} - 1);
    for (int i = 0; i < 2 * tight_candidates; ++i) {
        const std::uintptr_t step = static_cast<std::uintptr_t>(i < tight_candidates ? i : i - tight_candidates + 1);
        std::uintptr_t want;
        if (i < tight_candidates) {
            if (down < step * align + align) continue;  // keep clear of address 0
            want = down - step * align;
        } else {
            want = down + step * align;
        }
        void* q = mmap_at(reinterpret_cast<void*>(want), size, prot);
        if (q == reinterpret_cast<void*>(want)) return q;
        if (q != nullptr) ::munmap(q, size);
    }
    errno = ENOMEM;
    return nullptr;
}

// One attempt: the hook, the platform's trimmed over-reservation, then the tight mapping.
void* map_once(std::size_t size, std::size_t align, bool accessible) noexcept {
    if (injected_fault(size)) {
        errno = ENOMEM;
        return nullptr;
    }
    void* p = accessible ? os::map(size, align) : os::reserve(size, align);
    if (p != nullptr || align <= os::page_size()) return p;
    return map_tight(size, align, accessible ? PROT_READ | PROT_WRITE : PROT_NONE);
}

void* map_recovering(std::size_t size, std::size_t align, bool accessible) noexcept {
    const int saved_errno = errno;
    void* p = map_once(size, align, accessible);
    if (p != nullptr) return p;
    g_refused.fetch_add(1, std::memory_order_relaxed);
    verbose("the OS refused a mapping of bytes (giving back what heapkit holds, then retrying):", size);
    if (!tls_reclaiming) {
        tls_reclaiming = true;
        // Retried while the reclaim released something: another thread may take
        // what one reclaim freed before this thread's retry gets to it.
        for (int attempt = 0; attempt < 4 && p == nullptr; ++attempt) {
            if (!heap_oom_reclaim()) {
                p = map_once(size, align, accessible);  // others may have released meanwhile
                break;
            }
            p = map_once(size, align, accessible);
        }
        tls_reclaiming = false;
    }
    if (p == nullptr) {
        verbose("out of memory: a mapping of bytes was refused after giving back all heapkit could:", size);
        errno = ENOMEM;
        return nullptr;
    }
    g_recovered.fetch_add(1, std::memory_order_relaxed);
    errno = saved_errno;
    return p;
}

bool overcommit_never() noexcept {
    int v = g_overcommit_never.load(std::memory_order_relaxed);
    if (v >= 0) return v == 1;
    char c = '0';
    const int fd = ::open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (::read(fd, &c, 1) != 1) c = '0';
        ::close(fd);
    }
    v = c == '2' ? 1 : 0;
    g_overcommit_never.store(v, std::memory_order_relaxed);
    return v == 1;
}

}  // namespace

void* os_map(std::size_t size, std::size_t align) noexcept { return map_recovering(size, align, true); }

void* os_reserve(std::size_t size, std::size_t align) noexcept { return map_recovering(size, align, false); }

bool os_resize_in_place(void* p, std::size_t old_size, std::size_t new_size) noexcept {
    if (new_size > old_size && injected_fault(new_size - old_size)) {
        errno = ENOMEM;
        return false;
    }
    return os::resize_in_place(p, old_size, new_size);
}

bool os_address_space_tight() noexcept {
    if (overcommit_never()) return true;
    const int saved_errno = errno;
    rlimit lim{};
    const bool limited = ::getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY;
    errno = saved_errno;
    return limited;
}

os_refusal_counts os_refusals() noexcept {
    return {g_refused.load(std::memory_order_relaxed), g_recovered.load(std::memory_order_relaxed)};
}

#if defined(HEAPKIT_MALLOC_TESTING)
void testing::set_map_fault(map_fault_fn fn) noexcept { g_fault.store(fn, std::memory_order_release); }
#endif

}  // namespace heapkit::hkmalloc
