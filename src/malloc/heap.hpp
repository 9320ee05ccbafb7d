// heap: the per-thread allocator of heapkit malloc, reached through an
// initial-exec thread_local pointer; the fast paths take no lock and make no
// atomic read-modify-write.
//
//   tls_heap ──► heap
//                ├ direct[n/16]    ──► current[] of the class of n (n <= 1 KiB)
//                ├ current[class]  ──► the page malloc pops from (empty_page when none)
//                ├ queues[class]   ──► page ⇄ page ⇄ page   pages of the class that may have free blocks
//                ├ full            ──► page ⇄ page           pages with no free block (notify state set)
//                ├ segments[kind]  ──► seg ⇄ seg             segments it owns; those with unused pages first
//                ├ revisit         ══► page ══► page         full pages that got a remote free (lock-free push)
//                └ counters                                  page `used` changes, merged on read by stats
//
// malloc: direct[(size + 15) / 16] (or current[class_of(size)] above 1 KiB)
// -> pop `free`. When it is empty,
// heap_malloc_slow collects the revisit list, then walks the class queue
// (collecting each page's local and thread frees, carving more blocks, moving
// exhausted pages to `full`), then takes an unused page from its segments, an
// abandoned segment, or a new segment.
//
// free: segment_of(p) (mask + registry byte) -> page descriptor; when the
// page's segment is owned by this thread's heap and the page is plain, push
// on local_free. Otherwise heap_free_slow: validate (foreign pointer, block
// start, cheap double-free checks), then either the owner's slow cases
// (full page, last block, aligned block) or an atomic push on the page's
// thread_free. A remote free that finds a full page's notify state pushes
// the page on its heap's revisit list, so full pages learn of remote frees
// without scanning.
//
// Thread exit (pthread key destructor): the heap's segments go to the
// abandoned pool with their pages as they are; remote frees keep working
// (atomic push, no owner); another heap adopts them when it needs pages,
// collecting what was freed meanwhile. The heap struct goes back to a pool
// for the next thread. Nothing is lost: a block is always in exactly one of
// a page's lists or handed out.
//
// Out of memory: when the OS refuses a mapping (os_memory.hpp), the thread
// that asked gives back what its heap, the abandoned pool and the huge cache
// hold (heap_oom_reclaim) and retries; other heaps purge everything at their
// next purge check (a pressure counter), never touched from outside. A class
// request that still gets no page is served by a mapping of its own
// (heap_malloc_refused), else NULL with errno = ENOMEM.
//
// Invariants: current[c] == queues[c].first, or &empty_page when the queue is
// empty (set with heap_set_current, which keeps direct[] equal to it); a page
// is in exactly one of queues[its class] or full while in use.
#pragma once

#include "segment.hpp"
#include "size_classes.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace heapkit::hkmalloc {

struct page_queue {
    page* first = nullptr;
    page* last = nullptr;
};

// Counters of one heap; a single writer (the owner) updates them with relaxed
// load+store, readers sum all heaps. Block allocations and frees are not
// counted one by one: the slow path adds the change of a page's `used` since
// it was last counted (page::used_counted) — when it walks, fills, retires,
// abandons or adopts the page, and when this thread reads the statistics.
struct heap_counters {
    std::atomic<std::uint64_t> allocs{0};
    std::atomic<std::uint64_t> alloc_bytes{0};  // block sizes
    std::atomic<std::uint64_t> frees{0};
    std::atomic<std::uint64_t> free_bytes{0};
    // requests made through heapkit::gp (which is told the size on free)
    std::atomic<std::uint64_t> gp_allocs{0};
    std::atomic<std::uint64_t> gp_alloc_bytes{0};  // requested sizes
    std::atomic<std::uint64_t> gp_frees{0};
    std::atomic<std::uint64_t> gp_free_bytes{0};
};

inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// The page every empty queue's current[] points at: its free list is always empty.
inline constinit page empty_page{};

struct heap {
    page* direct[direct_count];  // direct[i] == current[classes.by_16[i]] (requests <= direct_max)
    page* current[class_count];  // see invariants; never nullptr
    page_queue queues[class_count];
    page_queue full;
    segment* segments[page_kinds] = {};   // owned segments per kind (doubly linked)
    std::atomic<page*> revisit{nullptr};  // pushed by remote freers, drained by the owner
    heap_counters counters;
    std::uint64_t last_purge_ms = 0;
    // now_ms() as this heap's slow paths last read it (<= now_ms()); stamps kept empty pages
    std::uint64_t clock_ms = 0;
    // refills of a current page and frees emptying a kept page left before one checks whether to purge
    std::uint32_t purge_check_countdown = 1;
    // g_pressure (heap.cpp) when this heap last purged everything for it
    std::uint32_t pressure_seen = 0;
    heap* next_all = nullptr;   // every heap ever made (for stats); never unlinked
    heap* next_free = nullptr;  // in the pool of heaps without a thread
    bool active = false;        // owned by a live thread

    constexpr heap() noexcept : direct{}, current{} {
        for (auto& d : direct) d = &empty_page;
        for (auto& c : current) c = &empty_page;
    }
};

// Sets the page malloc pops from for class c (current[c] and its direct[] entries).
inline void heap_set_current(heap* h, unsigned c, page* pg) noexcept {
    h->current[c] = pg;
    if (c < direct_classes) {
        for (unsigned i = classes.direct_first[c]; i < classes.direct_first[c + 1]; ++i) h->direct[i] = pg;
    }
}

// The heap of threads that have not allocated yet: every current[] is empty,
// so the first malloc goes to the slow path, which gives the thread a heap.
inline constinit heap empty_heap{};

inline constinit thread_local heap* tls_heap __attribute__((tls_model("initial-exec"))) = &empty_heap;

void* heap_malloc_slow(heap* h, std::size_t size) noexcept;
void heap_free_slow(void* p, const char* op) noexcept;
// free() of a block start of an in-use page that the fast path could not take:
// another thread's block (remote free) or an owner's special case.
void heap_free_block(segment* seg, page* pg, block* b) noexcept;

// malloc's fast path: one load finds the page (direct[] up to direct_max,
// else current[] of the computed class), then a list pop. Statistics are not
// counted here: they are taken from the pages' `used` in the slow path.
inline void* heap_malloc(std::size_t size) noexcept {
    heap* h = tls_heap;
    page* pg;
    if (__builtin_expect(size <= direct_max, 1)) {
        pg = h->direct[(size + 15) >> 4];
    } else if (size <= max_class_size) {
        pg = h->current[class_of_computed(size)];
    } else {
        return heap_malloc_slow(h, size);
    }
    block* b = pg->free;
    if (__builtin_expect(b != nullptr, 1)) {
        pg->free = b->next;
        ++pg->used;
        return b;
    }
    return heap_malloc_slow(h, size);
}

// free's fast path: registry byte, page descriptor, block-start check (one
// multiplication), then for the owner of a plain page a push on local_free.
// A valid block of another thread goes to heap_free_block without being
// looked up again; free(nullptr) returns at the registry miss; anything else
// (foreign, inner, huge) goes to heap_free_slow.
inline void heap_free(void* p) noexcept {
    if (__builtin_expect(in_small_segment(p), 1)) {
        segment* seg = reinterpret_cast<segment*>(reinterpret_cast<std::uintptr_t>(p) & ~segment_mask);
        page* pg = page_of(seg, p);
        const std::uintptr_t offset = reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(pg->start);
        if (__builtin_expect(offset < pg->carved.load(std::memory_order_relaxed) && block_start_ok(pg->magic, offset),
                             1)) {
            block* b = static_cast<block*>(p);
            // local_owner first: only the owner may read used and local_free.
            if (__builtin_expect(
                    pg->local_owner.load(std::memory_order_relaxed) == tls_heap && pg->used > 1 && b != pg->local_free,
                    1)) {
                b->next = pg->local_free;
                pg->local_free = b;
                --pg->used;
                return;
            }
            heap_free_block(seg, pg, b);
            return;
        }
    } else if (p == nullptr) {
        return;
    }
    heap_free_slow(p, "free()");
}

// ---- slow-path services (heap.cpp) ----

// Global one-time initialisation (options, thread-exit key, fork handlers); idempotent.
void global_init() noexcept;
// True once global_init() has run to its end.
bool global_init_done() noexcept;
// This thread's heap, made on first use; nullptr when out of memory.
heap* heap_get_or_init() noexcept;
// Pushes pg on the revisit list of its segment's owner (called by the remote freer that took `notify`).
void heap_notify_revisit(page* pg) noexcept;
// Returns empty pages and segments to the OS now (delay ignored), adopts abandoned segments.
bool heap_trim(heap* h) noexcept;
// The OS refused memory (os_memory.hpp): gives back what this thread's heap,
// the abandoned pool and the huge-block cache hold (empty segments unmapped,
// unused pages purged, cached mappings unmapped) and asks every other heap to
// purge everything at its next purge check. True when something was released.
bool heap_oom_reclaim() noexcept;
// For gp_check (check.cpp): the pool lock, and under it every heap ever made
// (linked by next_all) and the abandoned pool per kind (linked by next, its
// last segment, the count over all kinds).
void pool_lock() noexcept;
void pool_unlock() noexcept;
heap* heaps_all_locked() noexcept;
segment* pool_first_locked(unsigned kind) noexcept;
segment* pool_last_locked(unsigned kind) noexcept;
std::size_t pool_count_locked() noexcept;
// Monotonic milliseconds (coarse clock).
std::uint64_t now_ms() noexcept;

// Sum of every heap's counters.
struct counters_sum {
    std::uint64_t allocs, alloc_bytes, frees, free_bytes;
    std::uint64_t gp_allocs, gp_alloc_bytes, gp_frees, gp_free_bytes;
};
counters_sum heap_counters_sum() noexcept;
// Frees of huge blocks by threads that have no heap.
void count_heapless_free(std::size_t bytes, std::uint64_t count = 1) noexcept;
// Counts a heapkit::gp request (allocation when `alloc`, else free) of `size` bytes on this thread.
void count_gp(bool alloc, std::size_t size) noexcept;
// A huge block (mapped directly), counted; nullptr with errno = ENOMEM on failure.
void* heap_huge_alloc(std::size_t size, std::size_t align) noexcept;
// Marks the page holding block p (owned by this thread) as holding aligned (offset) pointers.
void heap_mark_aligned(void* p) noexcept;
// Bytes usable from p to the end of its block; reports (and aborts) when p is not heapkit's.
std::size_t heap_usable_size(const void* p, const char* op) noexcept;
}  // namespace heapkit::hkmalloc
