// heap: the slow paths of heapkit malloc — finding pages, retiring them,
// remote-free notification, purging, thread exit (abandon) and adoption,
// the heap pool and fork safety. See heap.hpp for the design.
#include "heap.hpp"

#include "large.hpp"
#include "lock.hpp"
#include "options.hpp"
#include "os_memory.hpp"
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
constinit segment* g_abandoned[page_kinds] = {};       // segments of exited threads per kind, linked by next
constinit segment* g_abandoned_last[page_kinds] = {};  // their last segment (pops take the front, pushes the back)
constinit std::size_t g_abandoned_count = 0;           // segments in all of them
constinit std::atomic<std::uint64_t> g_heapless_frees{0};
constinit std::atomic<std::uint64_t> g_heapless_free_bytes{0};
constinit std::atomic<std::uint64_t> g_heapless_gp_frees{0};
constinit std::atomic<std::uint64_t> g_heapless_gp_free_bytes{0};
constinit std::atomic<int> g_init_state{0};  // 0 not started, 1 running, 2 done
constinit std::atomic<bool> g_atfork_done{false};
// Bumped by every out-of-memory reclaim: a heap that sees it changed purges
// everything at its next purge check (heap_maybe_purge), so memory other
// threads hold goes back too, by those threads, without touching their heaps.
constinit std::atomic<std::uint32_t> g_pressure{0};
constinit pthread_key_t g_thread_key = 0;  // valid once g_init_state == 2

// Heap structs are carved from chunks of this size (a heap is ~3 KiB; 20 a chunk).
// Small, as the chunk counts against an address-space limit from the first thread on.
constexpr std::size_t meta_chunk = std::size_t{64} << 10;
static_assert(sizeof(heap) * 8 <= meta_chunk, "a chunk holds several heaps");
// One in this many refills of a current page (heap_malloc_slow) and frees
// that empty a kept page (page_emptied) checks whether to purge: both paths
// otherwise never read the clock, and a thread may do all its work on them.
constexpr std::uint32_t purge_check_every = 64;

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
    heap_set_current(h, c, h->queues[c].first != nullptr ? h->queues[c].first : &empty_page);
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

// Sets local_owner from the segment's owner and the page's flags (see page.hpp).
void sync_local_owner(page* pg) noexcept {
    heap* o = pg->flags.load(std::memory_order_relaxed) == 0
                  ? segment_of_page(pg)->owner.load(std::memory_order_relaxed)
                  : nullptr;
    pg->local_owner.store(o, std::memory_order_relaxed);
}

void set_flag(page* pg, std::uint8_t bit, bool on) noexcept {
    const std::uint8_t f = pg->flags.load(std::memory_order_relaxed);
    pg->flags.store(on ? static_cast<std::uint8_t>(f | bit) : static_cast<std::uint8_t>(f & ~bit),
                    std::memory_order_relaxed);
    sync_local_owner(pg);
}

// Adds the change of pg->used since it was last counted to h's counters
// (to the global ones when h is nullptr: a page of an abandoned segment).
void account(heap* h, page* pg) noexcept {
    const std::uint32_t u = pg->used, c = pg->used_counted;
    if (u == c) return;
    const std::uint64_t bs = pg->block_size;
    if (h == nullptr) {
        if (u < c) count_heapless_free((c - u) * bs, c - u);
    } else if (u > c) {
        bump(h->counters.allocs, u - c);
        bump(h->counters.alloc_bytes, (u - c) * bs);
    } else {
        bump(h->counters.frees, c - u);
        bump(h->counters.free_bytes, (c - u) * bs);
    }
    pg->used_counted = u;
}

// An aligned allocation returns align_up(block, A) for a power of two A > 16,
// so a pointer `in_block` bytes into a block of an aligned page can be such a
// result only when its own alignment exceeds in_block.
bool aligned_inner_ok(std::uint8_t flags, const void* p, std::uintptr_t in_block) noexcept {
    if ((flags & page_aligned) == 0) return false;
    const std::uintptr_t natural = reinterpret_cast<std::uintptr_t>(p) & (0 - reinterpret_cast<std::uintptr_t>(p));
    return natural > in_block;
}

// Reads the clock and remembers it in h (see heap::clock_ms).
std::uint64_t heap_clock(heap* h) noexcept { return h->clock_ms = now_ms(); }

// ---- pages ----

void page_init(heap* h, segment* seg, page* pg, unsigned c) noexcept {
    char* start;
    char* end;
    segment_page_area(seg, pg->index, &start, &end);
    const std::uint32_t bs = classes.size[c];
    pg->block_size = bs;
    pg->start = start;
    pg->magic = block_magic(bs);
    pg->reserved = static_cast<std::uint32_t>(static_cast<std::size_t>(end - start) / bs);
    pg->capacity = 0;
    pg->carved.store(0, std::memory_order_relaxed);
    pg->free = pg->local_free = nullptr;
    pg->used = pg->used_counted = 0;
    pg->thread_free.store(0, std::memory_order_relaxed);
    pg->size_class = static_cast<std::uint16_t>(c);
    pg->purged = false;
    pg->free_since_ms = h->clock_ms;
    pg->flags.store(0, std::memory_order_relaxed);
    pg->local_owner.store(h, std::memory_order_relaxed);
    if (++seg->used_pages == seg->page_count && seg->next != nullptr) {  // full: behind those with room
        seg_remove(h, seg);
        seg_push_back(h, seg);
    }
}

// Gives an unused page back to its segment (the page is in no queue); h is
// nullptr for a segment in the abandoned pool.
void page_to_segment(heap* h, segment* seg, page* pg, std::uint64_t now) noexcept {
    account(h, pg);
    pg->flags.store(page_unused, std::memory_order_relaxed);
    pg->local_owner.store(nullptr, std::memory_order_relaxed);
    pg->carved.store(0, std::memory_order_relaxed);
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
    page_to_segment(h, segment_of_page(pg), pg, heap_clock(h));
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

// ---- segments: the abandoned pool, adoption, reuse ----
//
// Segments of exited threads wait in a pool, a FIFO list per kind. A heap
// with no page with room for a class of kind k takes pooled segments out one
// at a time (so the taker alone touches their pages), collects their remote
// frees and returns their empty pages to them: a segment of kind k that still
// has blocks in use is adopted (its pages join the heap's queues) and the
// class queue is searched again; one with no block in use is adopted and
// gives the page. Only when the pool has no segment of kind k does the heap
// look for an empty segment of another kind (reset to kind k), then at its own
// unused pages, and only then map a segment: memory of exited threads is
// reused before the OS is asked for more. Purging sweeps the whole pool the
// same way and unmaps segments empty for the delay.

segment* pool_pop(unsigned k) noexcept {
    lock_guard guard(g_pool_lock);
    segment* seg = g_abandoned[k];
    if (seg == nullptr) return nullptr;
    g_abandoned[k] = seg->next;
    if (g_abandoned[k] == nullptr) g_abandoned_last[k] = nullptr;
    --g_abandoned_count;
    seg->next = nullptr;
    return seg;
}

// Appends a list of segments linked by next (under the lock).
void pool_push_locked(segment* first) noexcept {
    for (segment* seg = first; seg != nullptr;) {
        segment* next = seg->next;
        const unsigned k = static_cast<unsigned>(seg->kind);
        seg->next = nullptr;
        seg->prev = nullptr;
        if (g_abandoned_last[k] != nullptr)
            g_abandoned_last[k]->next = seg;
        else
            g_abandoned[k] = seg;
        g_abandoned_last[k] = seg;
        ++g_abandoned_count;
        seg = next;
    }
}

void pool_push(segment* seg) noexcept {
    lock_guard guard(g_pool_lock);
    pool_push_locked(seg);
}

std::size_t pool_count(unsigned k) noexcept {
    lock_guard guard(g_pool_lock);
    std::size_t n = 0;
    for (segment* seg = g_abandoned[k]; seg != nullptr; seg = seg->next) ++n;
    return n;
}

// Collects the remote frees of a segment taken out of the pool and returns
// its empty pages to it.
void sweep_abandoned(segment* seg, std::uint64_t now) noexcept {
    for (unsigned i = 0; i < seg->page_count; ++i) {
        page* pg = &seg->pages[i];
        if ((pg->flags.load(std::memory_order_relaxed) & page_unused) != 0) continue;
        page_collect(pg);
        if (pg->used == 0) page_to_segment(nullptr, seg, pg, now);
    }
}

// Gives an empty segment (no page in use, no owner) pages of `kind`.
void segment_reset(segment* seg, page_kind kind) noexcept {
    if (seg->kind == kind) return;
    seg->kind = kind;
    seg->page_shift = static_cast<std::uint8_t>(page_shift_of(kind));
    seg->page_count = static_cast<std::uint32_t>(segment_size >> seg->page_shift);
    for (unsigned i = 0; i < max_pages; ++i) {
        page* pg = new (&seg->pages[i]) page();
        pg->index = static_cast<std::uint16_t>(i);
        pg->purged = false;  // the memory under it may be resident
    }
}

// Makes h the owner of a segment out of the pool: its pages with blocks in use
// join h's queues, empty ones return to the segment.
void adopt_segment(heap* h, segment* seg) noexcept {
    seg->owner.store(h, std::memory_order_release);
    seg->next = seg->prev = nullptr;
    const std::uint64_t now = heap_clock(h);
    for (unsigned i = 0; i < seg->page_count; ++i) {
        page* pg = &seg->pages[i];
        if ((pg->flags.load(std::memory_order_relaxed) & page_unused) != 0) continue;
        page_collect(pg);
        set_flag(pg, page_in_full, false);  // also sets local_owner
        if (pg->used == 0) {
            page_to_segment(nullptr, seg, pg, now);
        } else {
            account(h, pg);
            pg->free_since_ms = now;  // in use now
            queue_push_back(h->queues[pg->size_class], pg);
            sync_current(h, pg->size_class);
        }
    }
    if (seg->used_pages < seg->page_count)
        seg_push_front(h, seg);
    else
        seg_push_back(h, seg);
}

constexpr unsigned reclaim_visits = 8;  // pooled segments of other kinds looked at for an empty one

enum class reclaimed { nothing, pages, empty };

// True when a swept pooled segment can serve class c: a page of c with free
// or uncarved blocks, or an unused page.
bool segment_serves(const segment* seg, unsigned c) noexcept {
    if (seg->used_pages < seg->page_count) return true;
    for (unsigned i = 0; i < seg->page_count; ++i) {
        const page* pg = &seg->pages[i];
        if (pg->size_class == c && (pg->free != nullptr || pg->local_free != nullptr || pg->capacity < pg->reserved))
            return true;
    }
    return false;
}

// Adopts a pooled segment of `kind` that can serve class c (`pages`; `empty`
// when it has no block in use), else an empty one of another kind reset to
// `kind` (`empty`). Looks at a few segments of each kind; the others go to
// the back of their list.
reclaimed reclaim(heap* h, unsigned c) noexcept {
    const page_kind kind = kind_of_class(c);
    const std::uint64_t now = heap_clock(h);
    for (unsigned v = 0; v < reclaim_visits; ++v) {
        segment* seg = pool_pop(static_cast<unsigned>(kind));
        if (seg == nullptr) break;
        sweep_abandoned(seg, now);
        if (segment_serves(seg, c)) {
            const bool empty = seg->used_pages == 0;
            adopt_segment(h, seg);
            return empty ? reclaimed::empty : reclaimed::pages;
        }
        pool_push(seg);
    }
    for (unsigned k = 0; k < page_kinds; ++k) {
        if (k == static_cast<unsigned>(kind)) continue;
        for (unsigned v = 0; v < reclaim_visits; ++v) {
            segment* seg = pool_pop(k);
            if (seg == nullptr) break;
            sweep_abandoned(seg, now);
            if (seg->used_pages == 0) {
                segment_reset(seg, kind);
                adopt_segment(h, seg);
                return reclaimed::empty;
            }
            pool_push(seg);
        }
    }
    return reclaimed::nothing;
}

// Makes unused page pg of seg (owned by h) a page of class c with free blocks.
page* page_take(heap* h, segment* seg, page* pg, unsigned c) noexcept {
    page_init(h, seg, pg, c);
    page_extend(pg);
    queue_push_front(h->queues[c], pg);
    sync_current(h, c);
    return pg;
}

// An unused page of the heap's segments of c's kind whose memory is still
// resident (not purged), made a page of class c; nullptr when there is none.
page* page_reuse(heap* h, unsigned c) noexcept {
    for (segment* seg = h->segments[static_cast<unsigned>(kind_of_class(c))];
         seg != nullptr && seg->used_pages < seg->page_count; seg = seg->next) {
        for (unsigned i = 0; i < seg->page_count; ++i) {
            page* pg = &seg->pages[i];
            if ((pg->flags.load(std::memory_order_relaxed) & page_unused) != 0 && !pg->purged)
                return page_take(h, seg, pg, c);
        }
    }
    return nullptr;
}

// A page of class c from any unused page of the heap's segments or a new segment.
page* page_fresh(heap* h, unsigned c) noexcept {
    const page_kind kind = kind_of_class(c);
    segment* seg = h->segments[static_cast<unsigned>(kind)];
    if (seg == nullptr || seg->used_pages == seg->page_count) {
        seg = segment_alloc(kind, h);
        if (seg == nullptr) return nullptr;
        seg_push_front(h, seg);
    }
    for (unsigned i = 0; i < seg->page_count; ++i) {
        page* pg = &seg->pages[i];
        if ((pg->flags.load(std::memory_order_relaxed) & page_unused) != 0) return page_take(h, seg, pg, c);
    }
    return nullptr;  // not reached: the segment has an unused page
}

// A page of class c with a free block, made current; nullptr when out of memory.
page* find_page(heap* h, unsigned c) noexcept {
    for (;;) {
        page_queue& q = h->queues[c];
        page* pg = q.first;
        while (pg != nullptr) {
            if (pg->free == nullptr) page_collect(pg);
            if (pg->free == nullptr && pg->capacity < pg->reserved) page_extend(pg);
            account(h, pg);
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
        // Address space tight (a finite RLIMIT_AS or overcommit_memory=2): a new
        // page of a large class is 4 MiB of reservation for a few blocks; the
        // caller maps the block alone instead (heap_malloc_refused), as glibc does
        // above its mmap threshold. Checked only when the class needs a new page.
        if (kind_of_class(c) == page_kind::large && os_address_space_tight()) return nullptr;
        // Memory already touched first: an unused resident page of our own, a
        // pooled segment; then unused purged pages, then a new segment.
        if (page* fresh = page_reuse(h, c)) return fresh;
        if (reclaim(h, c) != reclaimed::pages) return page_fresh(h, c);
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

// Purges the unused pages of seg that have been unused for the delay d.
void purge_segment_pages(segment* seg, std::uint64_t now, std::uint64_t d, bool force) noexcept {
    for (unsigned i = 0; i < seg->page_count; ++i) {
        page* pg = &seg->pages[i];
        if ((pg->flags.load(std::memory_order_relaxed) & page_unused) != 0 && !pg->purged &&
            (force || now - pg->free_since_ms >= d)) {
            purge_page_memory(seg, pg);
        }
    }
}

// Visits every pooled segment once: collects its frees, unmaps it when it has
// been empty for the delay, purges its pages unused for the delay.
void sweep_pool(std::uint64_t now, std::uint64_t d, bool force) noexcept {
    for (unsigned k = 0; k < page_kinds; ++k) {
        for (std::size_t n = pool_count(k); n > 0; --n) {
            segment* seg = pool_pop(k);
            if (seg == nullptr) break;
            sweep_abandoned(seg, now);
            if (seg->used_pages == 0 && (force || now - seg->free_since_ms >= d)) {
                segment_release(seg);
                continue;
            }
            purge_segment_pages(seg, now, d, force);
            pool_push(seg);
        }
    }
}

void heap_purge(heap* h, std::uint64_t now, bool force) noexcept {
    const std::int64_t delay = get_options().purge_delay_ms;
    if (delay < 0 && !force) return;
    const std::uint64_t d = delay < 0 ? 0 : static_cast<std::uint64_t>(delay);
    const std::uint64_t previous_purge = h->last_purge_ms;
    h->last_purge_ms = now;
    huge_cache_purge(now, delay, force);  // [large.cpp] freed huge mappings waiting for reuse
    process_revisit(h);
    // Empty pages still queued: all their blocks came back remotely, or the
    // page is the only one of its class (kept by page_emptied). A kept page is
    // retired once it has been empty for the delay, and its memory is then
    // purged below at once, as a page unused since it emptied would be. Its
    // stamp is the heap's clock as last read, which may be old when it emptied
    // (fast paths do not read the clock): only a page already empty at the
    // previous purge (stamped before it) is old enough to trust the stamp.
    for (unsigned c = 0; c < class_count; ++c) {
        for (page* pg = h->queues[c].first; pg != nullptr;) {
            page* next = pg->next;
            page_collect(pg);
            if ((pg->flags.load(std::memory_order_relaxed) & page_unused) != 0) break;  // moved by a revisit
            if (pg->used != 0) {
                pg->free_since_ms = now;  // in use now
            } else if (force || pg != h->queues[c].first || next != nullptr) {
                page_retire(h, pg);
            } else if (pg->free_since_ms < previous_purge && now - pg->free_since_ms >= d) {
                const std::uint64_t since = pg->free_since_ms;
                page_retire(h, pg);
                pg->free_since_ms = since;
            }
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
                purge_segment_pages(seg, now, d, force);
            }
            seg = next;
        }
    }
    sweep_pool(now, d, force);
}

void heap_maybe_purge(heap* h) noexcept {
    const std::uint32_t pressure = g_pressure.load(std::memory_order_relaxed);
    if (__builtin_expect(pressure != h->pressure_seen, 0)) {  // another thread ran out of memory
        h->pressure_seen = pressure;
        heap_purge(h, heap_clock(h), true);
        return;
    }
    const std::int64_t delay = get_options().purge_delay_ms;
    if (delay < 0) return;
    const std::uint64_t now = heap_clock(h);
    if (now - h->last_purge_ms >= static_cast<std::uint64_t>(delay / 2)) heap_purge(h, now, false);
}

// A local free emptied pg: retire it unless it is the only page of its class.
// A kept page notes when it emptied (as the heap's clock last read: a lone
// block's malloc/free pair comes here each time, so the clock is read only
// one time in purge_check_every, to check whether to purge), so a purge
// retires it once it has stayed empty for the delay.
void page_emptied(heap* h, page* pg) noexcept {
    const page_queue& q = h->queues[pg->size_class];
    if (q.first == pg && q.last == pg) {
        // Kept: hand the freed blocks to malloc's list now, so a program that
        // allocates and frees one block of the class at a time stays on the fast paths.
        if (pg->free == nullptr) {
            pg->free = pg->local_free;
            pg->local_free = nullptr;
        }
        if (--h->purge_check_countdown != 0) {
            pg->free_since_ms = h->clock_ms;
            return;
        }
        h->purge_check_countdown = purge_check_every;
        const int saved_errno = errno;
        pg->free_since_ms = heap_clock(h);  // fresh: this purge leaves pg alone
        heap_maybe_purge(h);
        errno = saved_errno;
        return;
    }
    const int saved_errno = errno;
    page_retire(h, pg);
    heap_maybe_purge(h);
    errno = saved_errno;
}

// ---- the heap pool, thread exit, fork ----

// A heap from the pool, or a new one carved from a chunk mapped for heaps.
// The chunk is mapped outside the pool lock: a refused mapping reclaims
// memory (os_memory.hpp), which takes that lock.
heap* heap_acquire() noexcept {
    constexpr std::size_t need = (sizeof(heap) + 63) & ~std::size_t{63};
    char* chunk = nullptr;  // mapped by this call, not yet installed
    heap* h = nullptr;
    for (;;) {
        {
            lock_guard guard(g_pool_lock);
            h = g_free_heaps;
            if (h != nullptr) {
                g_free_heaps = h->next_free;
            } else {
                if (g_meta_cursor == nullptr || static_cast<std::size_t>(g_meta_end - g_meta_cursor) < need) {
                    if (chunk != nullptr) {
                        g_meta_cursor = chunk;
                        g_meta_end = chunk + meta_chunk;
                        chunk = nullptr;
                    }
                }
                if (g_meta_cursor != nullptr && static_cast<std::size_t>(g_meta_end - g_meta_cursor) >= need) {
                    h = new (g_meta_cursor) heap();
                    g_meta_cursor += need;
                    h->next_all = g_all_heaps;
                    g_all_heaps = h;
                }
            }
            if (h != nullptr) {
                h->active = true;
                h->next_free = nullptr;
                h->pressure_seen = g_pressure.load(std::memory_order_relaxed);
            }
        }
        if (h != nullptr) break;
        chunk = static_cast<char*>(os_map(meta_chunk, 0));
        if (chunk == nullptr) return nullptr;
    }
    if (chunk != nullptr) os::release(chunk, meta_chunk);  // another thread installed one meanwhile
    return h;
}

// Hands the heap's segments to the abandoned pool and the heap to the heap
// pool. Frees are collected first and empty pages returned to their
// segments, so a pooled segment with no page in use is recognised at once;
// with a purge delay of 0 such segments are unmapped now.
void heap_abandon(heap* h) noexcept {
    process_revisit(h);
    const std::uint64_t now = now_ms();
    segment* to_pool = nullptr;
    segment* to_release = nullptr;
    const bool release_empty = get_options().purge_delay_ms == 0;
    for (unsigned k = 0; k < page_kinds; ++k) {
        for (segment* seg = h->segments[k]; seg != nullptr; seg = seg->next) {
            for (unsigned i = 0; i < seg->page_count; ++i) {
                page* pg = &seg->pages[i];
                if ((pg->flags.load(std::memory_order_relaxed) & page_unused) != 0) continue;
                page_clear_notify(pg);  // after this no remote thread refers to h for this page
                set_flag(pg, page_in_full, false);
                pg->local_owner.store(nullptr, std::memory_order_relaxed);
            }
            seg->owner.store(nullptr, std::memory_order_release);
        }
    }
    process_revisit(h);  // clears the queued flags of late pushes (owner is gone: nothing else happens)
    for (unsigned c = 0; c < class_count; ++c) {
        h->queues[c] = {};
        heap_set_current(h, c, &empty_page);
    }
    h->full = {};
    for (unsigned k = 0; k < page_kinds; ++k) {
        for (segment* seg = h->segments[k]; seg != nullptr;) {
            segment* next = seg->next;
            for (unsigned i = 0; i < seg->page_count; ++i) {
                page* pg = &seg->pages[i];
                if ((pg->flags.load(std::memory_order_relaxed) & page_unused) != 0) continue;
                page_collect(pg);
                account(h, pg);
                if (pg->used == 0) page_to_segment(nullptr, seg, pg, now);
            }
            if (seg->used_pages == 0 && release_empty) {
                seg->next = to_release;
                to_release = seg;
            } else {
                seg->next = to_pool;
                to_pool = seg;
            }
            seg = next;
        }
        h->segments[k] = nullptr;
    }
    {
        lock_guard guard(g_pool_lock);
        pool_push_locked(to_pool);
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
// [large.cpp] the huge-block cache lock too, so a forked child does not inherit it taken.
extern "C" void hk_fork_prepare() {
    huge_cache_lock();
    g_pool_lock.lock();
}
extern "C" void hk_fork_parent() {
    g_pool_lock.unlock();
    huge_cache_unlock();
}
extern "C" void hk_fork_child() {
    g_pool_lock.unlock();
    huge_cache_unlock();
}

// No page for a class request: the OS refused a segment even after
// heap_oom_reclaim (or find_page declined a large page, address space being
// tight). The block may still fit in a mapping of its own, where a 4 MiB
// segment did not: the huge path maps only what the block needs when address
// space is tight (header and block rounded to a page), so what still fits is
// served. heap_huge_alloc sets errno = ENOMEM when that is refused too.
void* heap_malloc_refused(std::size_t size) noexcept { return heap_huge_alloc(size, 16); }

}  // namespace

void pool_lock() noexcept { g_pool_lock.lock(); }
void pool_unlock() noexcept { g_pool_lock.unlock(); }
heap* heaps_all_locked() noexcept { return g_all_heaps; }
segment* pool_first_locked(unsigned kind) noexcept { return g_abandoned[kind]; }
segment* pool_last_locked(unsigned kind) noexcept { return g_abandoned_last[kind]; }
std::size_t pool_count_locked() noexcept { return g_abandoned_count; }

bool heap_oom_reclaim() noexcept {
    const std::size_t before = segment_mapped_bytes();
    g_pressure.fetch_add(1, std::memory_order_relaxed);  // other heaps: purge all at the next check
    const std::uint64_t now = now_ms();
    bool released = huge_cache_purge(now, 0, true);
    heap* h = tls_heap;
    if (h != &empty_heap) {
        h->pressure_seen = g_pressure.load(std::memory_order_relaxed);
        process_revisit(h);
        heap_purge(h, now, true);  // empty pages and segments, the pool, the huge cache
    } else {
        sweep_pool(now, 0, true);
    }
    return released || segment_mapped_bytes() < before;
}

std::uint64_t now_ms() noexcept {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000000;
}

bool global_init_done() noexcept { return g_init_state.load(std::memory_order_acquire) == 2; }

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
    h->last_purge_ms = heap_clock(h);
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
    const unsigned c = class_of(size);
    page* pg = h->current[c];
    // The common refill: the current page's own frees (and any remote ones),
    // without looking at the clock, the revisit list or other pages — except
    // one time in purge_check_every, which goes the long way (heap_maybe_purge,
    // then find_page refills the same page).
    if (pg->local_free != nullptr && --h->purge_check_countdown != 0) {
        page_collect(pg);
    } else {
        if (h->purge_check_countdown == 0) h->purge_check_countdown = purge_check_every;
        if (h->revisit.load(std::memory_order_relaxed) != nullptr) process_revisit(h);
        heap_maybe_purge(h);
        pg = find_page(h, c);
        if (pg == nullptr) return heap_malloc_refused(size);
    }
    block* b = pg->free;
    pg->free = b->next;
    ++pg->used;
    return b;
}

void heap_free_block(segment* seg, page* pg, block* b) noexcept {
    heap* h = tls_heap;
    if (seg->owner.load(std::memory_order_relaxed) != h) {
        page_free_remote(pg, b);
        return;
    }
    // The owner: a full or aligned page, the page's last block, or a double free.
    if (pg->used == 0 || b == pg->local_free || b == pg->free) report_double_free("free()", b);
    b->next = pg->local_free;
    pg->local_free = b;
    --pg->used;
    if ((pg->flags.load(std::memory_order_relaxed) & page_in_full) != 0) page_unfull(h, pg);
    if (pg->used == 0) page_emptied(h, pg);
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
            heap_maybe_purge(h);  // a program doing only huge blocks still gives its pages back
        }
        errno = saved_errno;
        return;
    }
    if ((fl & page_unused) != 0) report_foreign(op, p);
    const std::uintptr_t offset = reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(pg->start);
    const std::uint32_t bs = pg->block_size;
    if (offset >= pg->carved.load(std::memory_order_relaxed)) report_foreign(op, p);
    const std::uint32_t i = static_cast<std::uint32_t>(offset / bs);
    block* b = reinterpret_cast<block*>(pg->start + std::size_t{i} * bs);
    if (static_cast<void*>(b) != p && !aligned_inner_ok(fl, p, offset - std::size_t{i} * bs)) {
        report_not_block_start(op, p, b);
    }
    heap_free_block(seg, pg, b);
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
    // Every pooled segment: unmapped when empty, else adopted (its empty pages are then purged).
    const std::uint64_t now = now_ms();
    for (unsigned k = 0; k < page_kinds; ++k) {
        while (segment* seg = pool_pop(k)) {
            sweep_abandoned(seg, now);
            if (seg->used_pages == 0)
                segment_release(seg);
            else
                adopt_segment(h, seg);
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
    if (heap* own = tls_heap; own != &empty_heap) {  // bring this thread's counters up to date
        for (unsigned c = 0; c < class_count; ++c) {
            for (page* pg = own->queues[c].first; pg != nullptr; pg = pg->next) account(own, pg);
        }
        for (page* pg = own->full.first; pg != nullptr; pg = pg->next) account(own, pg);
    }
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

void count_heapless_free(std::size_t bytes, std::uint64_t count) noexcept {
    g_heapless_frees.fetch_add(count, std::memory_order_relaxed);
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
    heap_maybe_purge(h);
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
    if (offset >= pg->carved.load(std::memory_order_relaxed)) report_foreign(op, p);
    if (__builtin_expect(block_start_ok(pg->magic, offset), 1)) return bs;  // no division for block starts
    const std::uintptr_t in_block = offset % bs;
    if (in_block != 0 && !aligned_inner_ok(fl, p, in_block)) {
        report_not_block_start(op, p, static_cast<const char*>(p) - in_block);
    }
    return bs - in_block;
}

}  // namespace heapkit::hkmalloc
