// heap: the slow paths of heapkit malloc — finding pages, retiring them,
// remote-free notification, purging, thread exit (abandon) and adoption,
// the heap pool and fork safety. See heap.hpp for the design.
#include "heap.hpp"

#include "large.hpp"
#include "lock.hpp"
#include "options.hpp"
#include "report.hpp"

#include <heapkit/layout.hpp>
#include <heapkit/os/linux.hpp>

#include <cerrno>
#include <new>

#include <pthread.h>
#include <sched.h>
#include <time.h>

namespace heapkit::hkmalloc {
namespace {

using os = heapkit::os::native;

constinit spin_lock g_pool_lock;          // guards the heap pool and the abandoned pool
constinit heap* g_all_heaps = nullptr;    // every heap ever made, linked by next_all
constinit heap* g_free_heaps = nullptr;   // heaps without a thread, linked by next_free
constinit char* g_meta_cursor = nullptr;  // where the next heap struct is carved; <= g_meta_end
constinit char* g_meta_end = nullptr;
constinit segment* g_abandoned[page_kinds] = {};  // segments of exited threads, linked by next
constinit std::atomic<std::uint64_t> g_heapless_frees{0};
constinit std::atomic<std::uint64_t> g_heapless_free_bytes{0};
constinit std::atomic<std::uint64_t> g_heapless_gp_frees{0};
constinit std::atomic<std::uint64_t> g_heapless_gp_free_bytes{0};
constinit std::atomic<int> g_init_state{0};  // 0 not started, 1 running, 2 done
constinit std::atomic<bool> g_atfork_done{false};
constinit pthread_key_t g_thread_key = 0;  // valid once g_init_state == 2

constexpr std::size_t meta_chunk = std::size_t{1} << 20;

// ---- lists ----

void queue_remove(page_queue& q, page* pg) noexcept {
    if (pg->prev != nullptr)
        pg->prev->next = pg->next;
    else
        q.first = pg->next;
    if (pg->next != nullptr)
        pg->next->prev = pg->prev;
    else
        q.last = pg->prev;
    pg->next = pg->prev = nullptr;
}

void queue_push_front(page_queue& q, page* pg) noexcept {
    pg->prev = nullptr;
    pg->next = q.first;
    if (q.first != nullptr)
        q.first->prev = pg;
    else
        q.last = pg;
    q.first = pg;
}

void queue_push_back(page_queue& q, page* pg) noexcept {
    pg->next = nullptr;
    pg->prev = q.last;
    if (q.last != nullptr)
        q.last->next = pg;
    else
        q.first = pg;
    q.last = pg;
}

void sync_current(heap* h, unsigned c) noexcept {
    h->current[c] = h->queues[c].first != nullptr ? h->queues[c].first : &empty_page;
}

void seg_remove(heap* h, segment* seg) noexcept {
    segment*& head = h->segments[static_cast<unsigned>(seg->kind)];
    if (seg->prev != nullptr)
        seg->prev->next = seg->next;
    else
        head = seg->next;
    if (seg->next != nullptr) seg->next->prev = seg->prev;
    seg->next = seg->prev = nullptr;
}

void seg_push_front(heap* h, segment* seg) noexcept {
    segment*& head = h->segments[static_cast<unsigned>(seg->kind)];
    seg->prev = nullptr;
    seg->next = head;
    if (head != nullptr) head->prev = seg;
    head = seg;
}

void seg_push_back(heap* h, segment* seg) noexcept {
    segment*& head = h->segments[static_cast<unsigned>(seg->kind)];
    seg->next = nullptr;
    if (head == nullptr) {
        seg->prev = nullptr;
        head = seg;
        return;
    }
    segment* last = head;
    while (last->next != nullptr) last = last->next;
    last->next = seg;
    seg->prev = last;
}

segment* segment_of_page(page* pg) noexcept {
    return reinterpret_cast<segment*>(reinterpret_cast<std::uintptr_t>(pg) & ~segment_mask);
}

page_kind kind_of_class(unsigned c) noexcept {
    const std::size_t s = classes.size[c];
    return s <= small_max ? page_kind::small : s <= medium_max ? page_kind::medium : page_kind::large;
}

void set_flag(page* pg, std::uint8_t bit, bool on) noexcept {
    const std::uint8_t f = pg->flags.load(std::memory_order_relaxed);
    pg->flags.store(on ? static_cast<std::uint8_t>(f | bit) : static_cast<std::uint8_t>(f & ~bit),
                    std::memory_order_relaxed);
}

// An aligned allocation returns align_up(block, A) for a power of two A > 16,
// so a pointer `in_block` bytes into a block of an aligned page can be such a
// result only when its own alignment exceeds in_block.
bool aligned_inner_ok(std::uint8_t flags, const void* p, std::uintptr_t in_block) noexcept {
    if ((flags & page_aligned) == 0) return false;
    const std::uintptr_t natural = reinterpret_cast<std::uintptr_t>(p) & (0 - reinterpret_cast<std::uintptr_t>(p));
    return natural > in_block;
}

// ---- pages ----

void page_init(heap* h, segment* seg, page* pg, unsigned c) noexcept {
    char* start;
    char* end;
    segment_page_area(seg, pg->index, &start, &end);
    const std::uint32_t bs = classes.size[c];
    pg->block_size = bs;
    pg->start = start;
    pg->magic = ((std::uint64_t{1} << magic_shift) + bs - 1) / bs;
    pg->reserved = static_cast<std::uint32_t>(static_cast<std::size_t>(end - start) / bs);
    pg->capacity = 0;
    pg->free = pg->local_free = nullptr;
    pg->used = 0;
    pg->thread_free.store(0, std::memory_order_relaxed);
    pg->size_class = static_cast<std::uint16_t>(c);
    pg->purged = false;
    pg->flags.store(0, std::memory_order_relaxed);
    if (++seg->used_pages == seg->page_count && seg->next != nullptr) {  // full: behind those with room
        seg_remove(h, seg);
        seg_push_back(h, seg);
    }
}

// Gives an unused page back to its segment (the page is in no queue).
void page_to_segment(heap* h, segment* seg, page* pg, std::uint64_t now) noexcept {
    pg->flags.store(page_unused, std::memory_order_relaxed);
    pg->free = pg->local_free = nullptr;
    pg->block_size = 0;
    pg->magic = 0;
    pg->capacity = pg->reserved = 0;
    pg->free_since_ms = now;
    pg->purged = false;
    if (seg->used_pages-- == seg->page_count && h != nullptr) {  // it has room again: to the front
        seg_remove(h, seg);
        seg_push_front(h, seg);
    }
    if (seg->used_pages == 0) seg->free_since_ms = now;
}

void process_revisit(heap* h) noexcept;

// Retires an empty page that sits in its class queue.
void page_retire(heap* h, page* pg) noexcept {
    page_clear_notify(pg);  // no remote thread may still be notifying about it
    if (pg->revisit_queued.load(std::memory_order_acquire)) process_revisit(h);
    const unsigned c = pg->size_class;
    queue_remove(h->queues[c], pg);
    sync_current(h, c);
    page_to_segment(h, segment_of_page(pg), pg, now_ms());
}

// Retires an empty page unless it is the only page of its class (which is kept to avoid thrashing).
void page_maybe_retire(heap* h, page* pg) noexcept {
    const page_queue& q = h->queues[pg->size_class];
    if (q.first == pg && q.last == pg) return;
    page_retire(h, pg);
}

// A full page got blocks back: it returns to its class queue.
void page_unfull(heap* h, page* pg) noexcept {
    page_clear_notify(pg);
    set_flag(pg, page_in_full, false);
    queue_remove(h->full, pg);
    queue_push_back(h->queues[pg->size_class], pg);
    sync_current(h, pg->size_class);
}

void process_revisit(heap* h) noexcept {
    page* list = h->revisit.exchange(nullptr, std::memory_order_acquire);
    while (list != nullptr) {
        page* pg = list;
        list = pg->revisit_next.load(std::memory_order_relaxed);
        pg->revisit_queued.store(false, std::memory_order_release);
        if (segment_of_page(pg)->owner.load(std::memory_order_relaxed) != h) continue;
        if ((pg->flags.load(std::memory_order_relaxed) & page_in_full) == 0) continue;
        page_collect(pg);
        if (pg->free != nullptr) {
            page_unfull(h, pg);
            if (pg->used == 0) page_maybe_retire(h, pg);
        }
    }
}

// ---- segments: adoption of abandoned ones ----

bool adopt_one(heap* h, page_kind kind) noexcept {
    segment* seg;
    {
        lock_guard guard(g_pool_lock);
        seg = g_abandoned[static_cast<unsigned>(kind)];
        if (seg == nullptr) return false;
        g_abandoned[static_cast<unsigned>(kind)] = seg->next;
    }
    seg->owner.store(h, std::memory_order_release);
    seg->next = seg->prev = nullptr;
    seg_push_back(h, seg);
    const std::uint64_t now = now_ms();
    for (unsigned i = 0; i < seg->page_count; ++i) {
        page* pg = &seg->pages[i];
        if ((pg->flags.load(std::memory_order_relaxed) & page_unused) != 0) continue;
        page_collect(pg);
        set_flag(pg, page_in_full, false);
        if (pg->used == 0) {
            page_to_segment(h, seg, pg, now);
        } else {
            queue_push_back(h->queues[pg->size_class], pg);
            sync_current(h, pg->size_class);
        }
    }
    if (seg->used_pages == 0) {
        seg_remove(h, seg);
        segment_release(seg);
    } else if (seg->used_pages < seg->page_count) {
        seg_remove(h, seg);
        seg_push_front(h, seg);
    }
    return true;
}

// A page of class c from an unused page of the heap's segments or a new segment.
page* page_fresh(heap* h, unsigned c) noexcept {
    const page_kind kind = kind_of_class(c);
    segment* seg = h->segments[static_cast<unsigned>(kind)];
    if (seg == nullptr || seg->used_pages == seg->page_count) {
        seg = segment_alloc(kind, h);
        if (seg == nullptr) return nullptr;
        seg_push_front(h, seg);
    }
    page* pg = nullptr;
    for (unsigned i = 0; i < seg->page_count; ++i) {
        if ((seg->pages[i].flags.load(std::memory_order_relaxed) & page_unused) != 0) {
            pg = &seg->pages[i];
            break;
        }
    }
    page_init(h, seg, pg, c);
    page_extend(pg);
    queue_push_front(h->queues[c], pg);
    sync_current(h, c);
    return pg;
}

// A page of class c with a free block, made current; nullptr when out of memory.
page* find_page(heap* h, unsigned c) noexcept {
    for (;;) {
        page_queue& q = h->queues[c];
        page* pg = q.first;
        while (pg != nullptr) {
            if (pg->free == nullptr) page_collect(pg);
            if (pg->free == nullptr && pg->capacity < pg->reserved) page_extend(pg);
            if (pg->free != nullptr) {
                if (pg != q.first) {
                    queue_remove(q, pg);
                    queue_push_front(q, pg);
                }
                sync_current(h, c);
                return pg;
            }
            if (!page_set_notify(pg)) continue;  // remote frees arrived: collect them
            page* next = pg->next;
            queue_remove(q, pg);
            queue_push_back(h->full, pg);
            set_flag(pg, page_in_full, true);
            pg = next;
        }
        sync_current(h, c);
        if (!adopt_one(h, kind_of_class(c))) return page_fresh(h, c);
    }
}

// ---- purging ----

void purge_page_memory(segment* seg, page* pg) noexcept {
    char* start;
    char* end;
    segment_page_area(seg, pg->index, &start, &end);
    const std::size_t os_page = os::page_size();
    char* from = reinterpret_cast<char*>(align_up(reinterpret_cast<std::uintptr_t>(start), os_page));
    if (from < end) os::purge(from, static_cast<std::size_t>(end - from));
    pg->purged = true;
}

void heap_purge(heap* h, std::uint64_t now, bool force) noexcept {
    const std::int64_t delay = get_options().purge_delay_ms;
    if (delay < 0 && !force) return;
    const std::uint64_t d = delay < 0 ? 0 : static_cast<std::uint64_t>(delay);
    h->last_purge_ms = now;
    process_revisit(h);
    // Empty pages still queued (all their blocks came back remotely).
    for (unsigned c = 0; c < class_count; ++c) {
        for (page* pg = h->queues[c].first; pg != nullptr;) {
            page* next = pg->next;
            page_collect(pg);
            if ((pg->flags.load(std::memory_order_relaxed) & page_unused) != 0) break;  // moved by a revisit
            if (pg->used == 0 && (force || pg != h->queues[c].first || next != nullptr)) page_retire(h, pg);
            pg = next;
        }
    }
    for (unsigned k = 0; k < page_kinds; ++k) {
        for (segment* seg = h->segments[k]; seg != nullptr;) {
            segment* next = seg->next;
            if (seg->used_pages == 0 && (force || now - seg->free_since_ms >= d)) {
                seg_remove(h, seg);
                segment_release(seg);
            } else if (seg->used_pages < seg->page_count) {
                for (unsigned i = 0; i < seg->page_count; ++i) {
                    page* pg = &seg->pages[i];
                    if ((pg->flags.load(std::memory_order_relaxed) & page_unused) != 0 && !pg->purged &&
                        (force || now - pg->free_since_ms >= d)) {
                        purge_page_memory(seg, pg);
                    }
                }
            }
            seg = next;
        }
    }
}

void heap_maybe_purge(heap* h) noexcept {
    const std::int64_t delay = get_options().purge_delay_ms;
    if (delay < 0) return;
    const std::uint64_t now = now_ms();
    if (now - h->last_purge_ms >= static_cast<std::uint64_t>(delay / 2)) heap_purge(h, now, false);
}

// ---- the heap pool, thread exit, fork ----

heap* heap_acquire() noexcept {
    lock_guard guard(g_pool_lock);
    heap* h = g_free_heaps;
    if (h != nullptr) {
        g_free_heaps = h->next_free;
    } else {
        constexpr std::size_t need = (sizeof(heap) + 63) & ~std::size_t{63};
        if (g_meta_cursor == nullptr || static_cast<std::size_t>(g_meta_end - g_meta_cursor) < need) {
            char* m = static_cast<char*>(os::map(meta_chunk, 0));
            if (m == nullptr) return nullptr;
            g_meta_cursor = m;
            g_meta_end = m + meta_chunk;
        }
        h = new (g_meta_cursor) heap();
        g_meta_cursor += need;
        h->next_all = g_all_heaps;
        g_all_heaps = h;
    }
    h->active = true;
    h->next_free = nullptr;
    return h;
}

// Hands the heap's segments to the abandoned pool and the heap to the heap pool.
void heap_abandon(heap* h) noexcept {
    process_revisit(h);
    segment* to_release = nullptr;
    for (unsigned k = 0; k < page_kinds; ++k) {
        for (segment* seg = h->segments[k]; seg != nullptr; seg = seg->next) {
            for (unsigned i = 0; i < seg->page_count; ++i) {
                page* pg = &seg->pages[i];
                if ((pg->flags.load(std::memory_order_relaxed) & page_unused) != 0) continue;
                page_clear_notify(pg);  // after this no remote thread refers to h for this page
                set_flag(pg, page_in_full, false);
            }
            seg->owner.store(nullptr, std::memory_order_release);
        }
    }
    process_revisit(h);  // clears the queued flags of late pushes (owner is gone: nothing else happens)
    for (unsigned c = 0; c < class_count; ++c) {
        h->queues[c] = {};
        h->current[c] = &empty_page;
    }
    h->full = {};
    {
        lock_guard guard(g_pool_lock);
        for (unsigned k = 0; k < page_kinds; ++k) {
            for (segment* seg = h->segments[k]; seg != nullptr;) {
                segment* next = seg->next;
                seg->prev = nullptr;
                if (seg->used_pages == 0) {
                    seg->next = to_release;
                    to_release = seg;
                } else {
                    seg->next = g_abandoned[k];
                    g_abandoned[k] = seg;
                }
                seg = next;
            }
            h->segments[k] = nullptr;
        }
        h->active = false;
        h->next_free = g_free_heaps;
        g_free_heaps = h;
    }
    while (to_release != nullptr) {
        segment* next = to_release->next;
        segment_release(to_release);
        to_release = next;
    }
}

void heap_thread_done(void* arg) noexcept {
    heap* h = static_cast<heap*>(arg);
    if (h == nullptr || h == &empty_heap) return;
    if (tls_heap == h) tls_heap = &empty_heap;
    heap_abandon(h);
}

extern "C" void hk_thread_done(void* arg) { heap_thread_done(arg); }
extern "C" void hk_fork_prepare() { g_pool_lock.lock(); }
extern "C" void hk_fork_parent() { g_pool_lock.unlock(); }
extern "C" void hk_fork_child() { g_pool_lock.unlock(); }

}  // namespace

std::uint64_t now_ms() noexcept {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000000;
}

void global_init() noexcept {
    if (g_init_state.load(std::memory_order_acquire) == 2) return;
    int expected = 0;
    if (g_init_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
        options_init();
        (void)os::page_size();
        ::pthread_key_create(&g_thread_key, &hk_thread_done);  // does not allocate
        g_init_state.store(2, std::memory_order_release);
        const std::int64_t delay = get_options().purge_delay_ms;
        if (delay >= 0) {
            verbose("malloc initialised; purge delay in ms:", static_cast<std::size_t>(delay));
        } else {
            verbose("malloc initialised; purging off; segment bytes:", segment_size);
        }
    } else {
        while (g_init_state.load(std::memory_order_acquire) != 2) ::sched_yield();
    }
    // pthread_atfork may allocate: register outside the initialisation state.
    if (!g_atfork_done.exchange(true, std::memory_order_acq_rel)) {
        ::pthread_atfork(&hk_fork_prepare, &hk_fork_parent, &hk_fork_child);
    }
}

heap* heap_get_or_init() noexcept {
    heap* h = tls_heap;
    if (h != &empty_heap) return h;
    global_init();
    h = heap_acquire();
    if (h == nullptr) return nullptr;
    h->last_purge_ms = now_ms();
    tls_heap = h;
    ::pthread_setspecific(g_thread_key, h);  // may allocate (keys >= 32): tls_heap is already set
    return h;
}

void* heap_malloc_slow(heap* h, std::size_t size) noexcept {
    if (h == &empty_heap) {
        h = heap_get_or_init();
        if (h == nullptr) {
            errno = ENOMEM;
            return nullptr;
        }
    }
    if (size > max_class_size) return heap_huge_alloc(size, 16);
    if (h->revisit.load(std::memory_order_relaxed) != nullptr) process_revisit(h);
    heap_maybe_purge(h);
    const unsigned c = class_of(size);
    page* pg = find_page(h, c);
    if (pg == nullptr) {
        errno = ENOMEM;
        return nullptr;
    }
    block* b = pg->free;
    pg->free = b->next;
    ++pg->used;
    bump(h->counters.allocs, 1);
    bump(h->counters.alloc_bytes, pg->block_size);
    return b;
}

void heap_free_slow(void* p, const char* op) noexcept {
    if (p == nullptr) return;
    const int saved_errno = errno;
    segment* seg = segment_of(p);
    if (seg == nullptr) report_foreign(op, p);
    page* pg = page_of(seg, p);
    const std::uint8_t fl = pg->flags.load(std::memory_order_relaxed);
    heap* h = tls_heap;
    if ((fl & page_huge) != 0) {
        const std::size_t n = huge_usable(seg, seg->huge_block);
        huge_free(seg, p, op);
        if (h == &empty_heap) {
            count_heapless_free(n);
        } else {
            bump(h->counters.frees, 1);
            bump(h->counters.free_bytes, n);
        }
        errno = saved_errno;
        return;
    }
    if ((fl & page_unused) != 0) report_foreign(op, p);
    const std::uintptr_t offset = reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(pg->start);
    const std::uint32_t bs = pg->block_size;
    if (offset >= std::uintptr_t{pg->reserved} * bs) report_foreign(op, p);
    const std::uint32_t i = static_cast<std::uint32_t>(offset / bs);
    block* b = reinterpret_cast<block*>(pg->start + std::size_t{i} * bs);
    if (static_cast<void*>(b) != p && !aligned_inner_ok(fl, p, offset - std::size_t{i} * bs)) {
        report_not_block_start(op, p, b);
    }
    if (seg->owner.load(std::memory_order_relaxed) == h) {
        if (i >= pg->capacity) report_foreign(op, p);
        if (pg->used == 0 || b == pg->local_free || b == pg->free) report_double_free(op, p);
        b->next = pg->local_free;
        pg->local_free = b;
        --pg->used;
        bump(h->counters.frees, 1);
        bump(h->counters.free_bytes, bs);
        if ((fl & page_in_full) != 0) page_unfull(h, pg);
        if (pg->used == 0) {
            page_maybe_retire(h, pg);
            heap_maybe_purge(h);
        }
    } else {
        if (h == &empty_heap) {
            count_heapless_free(bs);
        } else {
            bump(h->counters.frees, 1);
            bump(h->counters.free_bytes, bs);
        }
        page_free_remote(pg, b);
    }
    errno = saved_errno;
}

void heap_notify_revisit(page* pg) noexcept {
    heap* h = segment_of_page(pg)->owner.load(std::memory_order_acquire);
    if (h == nullptr) return;
    if (pg->revisit_queued.exchange(true, std::memory_order_acq_rel)) return;
    page* head = h->revisit.load(std::memory_order_relaxed);
    do {
        pg->revisit_next.store(head, std::memory_order_relaxed);
    } while (!h->revisit.compare_exchange_weak(head, pg, std::memory_order_release, std::memory_order_relaxed));
}

bool heap_trim(heap* h) noexcept {
    if (h == &empty_heap) h = heap_get_or_init();
    if (h == nullptr) return false;
    const std::size_t before = segment_mapped_bytes();
    process_revisit(h);
    for (unsigned k = 0; k < page_kinds; ++k) {
        while (adopt_one(h, static_cast<page_kind>(k))) {
        }
    }
    heap_purge(h, now_ms(), true);
    return segment_mapped_bytes() < before;
}

counters_sum heap_counters_sum() noexcept {
    counters_sum s{0,
                   0,
                   g_heapless_frees.load(std::memory_order_relaxed),
                   g_heapless_free_bytes.load(std::memory_order_relaxed),
                   0,
                   0,
                   g_heapless_gp_frees.load(std::memory_order_relaxed),
                   g_heapless_gp_free_bytes.load(std::memory_order_relaxed)};
    lock_guard guard(g_pool_lock);
    for (heap* h = g_all_heaps; h != nullptr; h = h->next_all) {
        s.allocs += h->counters.allocs.load(std::memory_order_relaxed);
        s.alloc_bytes += h->counters.alloc_bytes.load(std::memory_order_relaxed);
        s.frees += h->counters.frees.load(std::memory_order_relaxed);
        s.free_bytes += h->counters.free_bytes.load(std::memory_order_relaxed);
        s.gp_allocs += h->counters.gp_allocs.load(std::memory_order_relaxed);
        s.gp_alloc_bytes += h->counters.gp_alloc_bytes.load(std::memory_order_relaxed);
        s.gp_frees += h->counters.gp_frees.load(std::memory_order_relaxed);
        s.gp_free_bytes += h->counters.gp_free_bytes.load(std::memory_order_relaxed);
    }
    return s;
}

void count_heapless_free(std::size_t bytes) noexcept {
    g_heapless_frees.fetch_add(1, std::memory_order_relaxed);
    g_heapless_free_bytes.fetch_add(bytes, std::memory_order_relaxed);
}

void count_gp(bool alloc, std::size_t size) noexcept {
    heap* h = tls_heap;
    if (h == &empty_heap) {
        if (alloc) return;  // cannot happen: allocating gave the thread a heap
        g_heapless_gp_frees.fetch_add(1, std::memory_order_relaxed);
        g_heapless_gp_free_bytes.fetch_add(size, std::memory_order_relaxed);
        return;
    }
    if (alloc) {
        bump(h->counters.gp_allocs, 1);
        bump(h->counters.gp_alloc_bytes, size);
    } else {
        bump(h->counters.gp_frees, 1);
        bump(h->counters.gp_free_bytes, size);
    }
}

void* heap_huge_alloc(std::size_t size, std::size_t align) noexcept {
    heap* h = heap_get_or_init();
    if (h == nullptr) {
        errno = ENOMEM;
        return nullptr;
    }
    void* p = huge_alloc(size, align);
    if (p == nullptr) {
        errno = ENOMEM;
        return nullptr;
    }
    bump(h->counters.allocs, 1);
    bump(h->counters.alloc_bytes, huge_usable(segment_of(p), p));
    return p;
}

void heap_mark_aligned(void* p) noexcept {
    segment* seg = segment_of(p);
    page* pg = page_of(seg, p);
    set_flag(pg, page_aligned, true);
}

std::size_t heap_usable_size(const void* p, const char* op) noexcept {
    segment* seg = segment_of(p);
    if (seg == nullptr) report_foreign(op, p);
    page* pg = page_of(seg, p);
    const std::uint8_t fl = pg->flags.load(std::memory_order_relaxed);
    if ((fl & page_huge) != 0) {
        if (p != seg->huge_block) report_foreign(op, p);
        return huge_usable(seg, p);
    }
    if ((fl & page_unused) != 0) report_foreign(op, p);
    const std::uintptr_t offset = reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(pg->start);
    const std::uint32_t bs = pg->block_size;
    if (offset >= std::uintptr_t{pg->reserved} * bs) report_foreign(op, p);
    const std::uintptr_t in_block = offset % bs;
    if (in_block != 0 && !aligned_inner_ok(fl, p, in_block)) {
        report_not_block_start(op, p, static_cast<const char*>(p) - in_block);
    }
    return bs - in_block;
}

}  // namespace heapkit::hkmalloc
