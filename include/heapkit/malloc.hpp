// heapkit malloc: a general-purpose, thread-caching allocator (free-list
// sharding per page, as in mimalloc), its C entry points (hk_*), and its C++
// face `heapkit::gp`.
//
// Link heapkit::malloc_core (the allocator alone: hk_* and heapkit::gp), or
// heapkit::malloc (the allocator AND malloc/free/operator new replaced), or
// preload libheapkit.so into any program. docs/malloc.md has the design.
//
//   heapkit::gp a;                                  // stateless; any number of copies share the heaps
//   heapkit::memory_block b = a.allocate(*heapkit::layout::from(100, 64));
//   a.deallocate(b.ptr, *heapkit::layout::from(100, 64));
//
//   static heapkit::gp gp_alloc;                    // constant-initialised:
//   HEAPKIT_GLOBAL_ALLOCATOR(gp_alloc);             // works before main
//
// The C functions follow glibc where glibc and the standards differ (see
// docs/malloc.md): hk_realloc(p, 0) frees p and returns NULL; failures set
// errno = ENOMEM and return NULL; a pointer heapkit did not allocate is
// reported on stderr and the process aborts.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/layout.hpp>

#include <cstddef>
#include <cstdint>

// Exported from libheapkit.so (built with hidden visibility).
#define HEAPKIT_MALLOC_API __attribute__((visibility("default")))

extern "C" {
void* hk_malloc(std::size_t size) noexcept;
void hk_free(void* p) noexcept;
void* hk_calloc(std::size_t count, std::size_t size) noexcept;
// glibc semantics: (NULL, n) = malloc(n); (p, 0) frees p and returns NULL; on failure p stays valid.
void* hk_realloc(void* p, std::size_t size) noexcept;
// Any power-of-two alignment (else NULL, errno = EINVAL); any size.
void* hk_aligned_alloc(std::size_t align, std::size_t size) noexcept;
// As hk_aligned_alloc, zero-filled.
void* hk_aligned_zalloc(std::size_t align, std::size_t size) noexcept;
// Resizes keeping `align` (a power of two) and the contents; NULL on failure with p intact.
void* hk_realloc_aligned(void* p, std::size_t size, std::size_t align) noexcept;
// Bytes usable at p (>= the size asked for); 0 for NULL.
std::size_t hk_usable_size(const void* p) noexcept;
// free() told the size (and alignment); the size is not checked.
void hk_free_sized(void* p, std::size_t size) noexcept;
void hk_free_aligned_sized(void* p, std::size_t align, std::size_t size) noexcept;
// Returns unused memory of this thread and of exited threads to the OS now; 1 if any was released.
int hk_trim(void) noexcept;
// True when p lies in memory heapkit malloc manages (a live segment).
bool hk_owns(const void* p) noexcept;
// Prints statistics to file descriptor fd (never allocates).
void hk_print_stats(int fd) noexcept;
}

namespace heapkit {

// The options heapkit malloc read from the environment (see docs/malloc.md).
struct malloc_options {
    bool verbose = false;               // HEAPKIT_VERBOSE
    bool stats = false;                 // HEAPKIT_STATS: print statistics at exit
    bool huge_pages = false;            // HEAPKIT_HUGE_PAGES
    std::int64_t purge_delay_ms = 100;  // HEAPKIT_PURGE_DELAY; < 0: never purge
};
// The options in force (reads the environment on first use).
HEAPKIT_MALLOC_API malloc_options current_malloc_options() noexcept;

// Figures of heapkit malloc, summed over every thread's heap.
struct gp_statistics {
    allocator_stats gp;             // requests made through heapkit::gp (requested sizes)
    std::uint64_t allocations = 0;  // every malloc-family allocation (all entry points)
    std::uint64_t frees = 0;
    std::uint64_t live_blocks = 0;       // allocations - frees
    std::uint64_t live_block_bytes = 0;  // bytes of live blocks (block sizes, not requests)
    std::uint64_t mapped_bytes = 0;      // segments and huge blocks mapped from the OS now
    std::uint64_t mapped_peak = 0;
};
HEAPKIT_MALLOC_API gp_statistics gp_stats() noexcept;

// The allocator's consistency check: walks every heap (queues, full list,
// segments and their page descriptors, each page's free lists), the abandoned
// pool and the huge-block cache, and verifies the invariants written in
// src/malloc/ (page.hpp, segment.hpp, heap.hpp, large.hpp). Reads other
// threads' heaps: call it when no other thread allocates or frees (after
// joining them). Never allocates; `ok` false names the first violation.
struct gp_check_result {
    bool ok = true;
    char message[240] = {};      // the first violation: what, where (addresses), the values
    std::uint64_t heaps = 0;     // heaps walked (with a thread or pooled)
    std::uint64_t segments = 0;  // segments owned by heaps or pooled
    std::uint64_t pages = 0;     // pages in use
    std::uint64_t blocks_free = 0;      // blocks on free / local_free lists
    std::uint64_t blocks_used = 0;      // blocks handed out (remote frees not yet collected included)
    std::uint64_t pooled_segments = 0;  // in the abandoned pool
    std::uint64_t cached_mappings = 0;  // freed huge mappings in the cache
};
HEAPKIT_MALLOC_API gp_check_result gp_check() noexcept;

// The general-purpose allocator as a heapkit allocator. Stateless and
// constant-initialisable; every object shares the per-thread heaps of
// heapkit malloc (and of malloc itself when heapkit::malloc or
// libheapkit.so is in use). Blocks may be freed from any thread.
class gp {
public:
    constexpr gp() noexcept = default;

    memory_block allocate(layout l) noexcept { return finish(raw(l, false), l.size()); }
    memory_block allocate_zeroed(layout l) noexcept { return finish(raw(l, true), l.size()); }
    void deallocate(void* p, layout l) noexcept {
        if (p == nullptr) return;
        count(false, l.size());
        hk_free(p);
    }
    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        return resize(p, old_layout, new_layout);
    }
    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        return resize(p, old_layout, new_layout);
    }
    std::size_t usable_size(const void* p, layout) const noexcept { return hk_usable_size(p); }
    bool owns(const void* p) const noexcept { return hk_owns(p); }
    allocator_stats stats() const noexcept { return gp_stats().gp; }

private:
    HEAPKIT_MALLOC_API static void count(bool alloc, std::size_t size) noexcept;
    static void* raw(layout l, bool zeroed) noexcept {
        if (zeroed) return l.align() <= 16 ? hk_calloc(1, l.size()) : hk_aligned_zalloc(l.align(), l.size());
        return l.align() <= 16 ? hk_malloc(l.size()) : hk_aligned_alloc(l.align(), l.size());
    }
    static memory_block finish(void* p, std::size_t size) noexcept {
        if (p == nullptr) return {};
        count(true, size);
        return {p, hk_usable_size(p)};
    }
    static memory_block resize(void* p, layout old_layout, layout new_layout) noexcept {
        void* q = hk_realloc_aligned(p, new_layout.size(), new_layout.align());
        if (q == nullptr) return {};
        count(false, old_layout.size());
        count(true, new_layout.size());
        return {q, hk_usable_size(q)};
    }
};

}  // namespace heapkit
