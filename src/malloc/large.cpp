// large (huge) blocks: own mappings, the cache of freed ones, in-place
// resizing. See large.hpp.
#include "large.hpp"

#include "heap.hpp"
#include "lock.hpp"
#include "options.hpp"
#include "os_memory.hpp"
#include "report.hpp"

#include <heapkit/layout.hpp>
#include <heapkit/os/linux.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>

namespace heapkit::hkmalloc {
namespace {
using os = heapkit::os::native;
constexpr std::size_t huge_granule = 64 * 1024;  // block sizes (huge_size) are rounded to this
constexpr std::size_t max_request = std::size_t{1} << 46;

// ---- the cache ----
constexpr unsigned cache_slots = 16;
constexpr std::size_t cache_max_bytes = std::size_t{80}
                                        << 20;  // dirty bytes held by the cache, at most (see docs/malloc.md)

struct cache_entry {
    segment* seg;
    std::size_t dirty;  // seg->huge_dirty
    std::uint64_t freed_ms;
};

constinit spin_lock g_cache_lock;                 // guards the four below
constinit cache_entry g_cache[cache_slots] = {};  // [0, g_cache_count) in use, oldest first
constinit unsigned g_cache_count = 0;
constinit std::size_t g_cache_bytes = 0;          // sum of their dirty
constinit std::atomic<unsigned> g_cache_hint{0};  // g_cache_count, read without the lock

// Dirty bytes a reused mapping may carry beyond the `need` bytes of its new
// block: four times the block, at least 4 MiB; more are purged (the block
// would sit on resident memory it does not use). Measured on bench `large`
// (page faults; mimalloc 24.6 K): bound 1 x block / 1 MiB 112 K, 2 x / 2 MiB
// 54 K, 4 x / 4 MiB 47 K, never purging 40 K.
std::size_t excess_bound(std::size_t need) noexcept {
    constexpr std::size_t floor = std::size_t{4} << 20;
    return 4 * need > floor ? 4 * need : floor;
}

void cache_remove_at(unsigned i) noexcept {
    g_cache_bytes -= g_cache[i].dirty;
    for (unsigned j = i + 1; j < g_cache_count; ++j) g_cache[j - 1] = g_cache[j];
    --g_cache_count;
    g_cache_hint.store(g_cache_count, std::memory_order_relaxed);
}

// Unregistered already: uncount and unmap.
void release_mapping(segment* seg) noexcept {
    segment_count_mapped(-static_cast<std::ptrdiff_t>(seg->huge_size));
    os::release(seg->map_base, seg->map_size);
}

// The cost of reusing a mapping with `dirty` resident bytes for a block ending
// `need` bytes into it: the pages it lacks, plus its excess beyond
// excess_bound. That excess is not lost (split_tail caches it as a mapping of
// its own), but counting it keeps a big block's mapping whole for the next big
// request: on bench `large`, counting only the missing pages took 30.1 K page
// faults against 28.3 K (peak RSS 105.0 against 106.1 MiB).
std::size_t reuse_cost(std::size_t dirty, std::size_t need) noexcept {
    if (dirty < need) return need - dirty;
    const std::size_t excess = dirty - need, bound = excess_bound(need);
    return excess > bound ? excess - bound : 0;
}

// The cached mapping for a block ending `need` bytes into it that costs the
// fewest page faults (the least dirty among equals), removed from the cache;
// nullptr when the cache is empty. Its reservation may be smaller than need
// (grow_reservation makes room without losing its pages).
segment* cache_take(std::size_t need) noexcept {
    if (g_cache_hint.load(std::memory_order_relaxed) == 0) return nullptr;
    lock_guard guard(g_cache_lock);
    int best = -1;
    std::size_t best_cost = 0;
    for (unsigned i = 0; i < g_cache_count; ++i) {
        const cache_entry& e = g_cache[i];
        const std::size_t cost = reuse_cost(e.dirty, need);
        if (best < 0 || cost < best_cost || (cost == best_cost && e.dirty < g_cache[best].dirty)) {
            best = static_cast<int>(i);
            best_cost = cost;
        }
    }
    if (best < 0) return nullptr;
    segment* seg = g_cache[best].seg;
    cache_remove_at(static_cast<unsigned>(best));
    return seg;
}

// Puts seg (unregistered, cacheable) in the cache, evicting the oldest entries over the bounds;
// false when it does not fit at all (the caller releases it).
bool cache_put(segment* seg, std::uint64_t now) noexcept {
    if (seg->huge_dirty > cache_max_bytes) return false;
    segment* evicted[cache_slots];
    unsigned n_evicted = 0;
    {
        lock_guard guard(g_cache_lock);
        while (g_cache_count > 0 &&
               (g_cache_count == cache_slots || g_cache_bytes + seg->huge_dirty > cache_max_bytes)) {
            evicted[n_evicted++] = g_cache[0].seg;
            cache_remove_at(0);
        }
        g_cache[g_cache_count++] = {seg, seg->huge_dirty, now};
        g_cache_bytes += seg->huge_dirty;
        g_cache_hint.store(g_cache_count, std::memory_order_relaxed);
    }
    for (unsigned i = 0; i < n_evicted; ++i) release_mapping(evicted[i]);
    return true;
}

void maybe_purge_cache() noexcept {
    if (g_cache_hint.load(std::memory_order_relaxed) == 0) return;
    huge_cache_purge(now_ms(), get_options().purge_delay_ms, false);
}

bool cacheable(const segment* seg) noexcept { return seg->map_base == seg; }

// Sets huge_size (counting the difference as mapped bytes).
void set_size(segment* seg, std::size_t size) noexcept {
    segment_count_mapped(static_cast<std::ptrdiff_t>(size) - static_cast<std::ptrdiff_t>(seg->huge_size));
    seg->huge_size = size;
}

// Gives back the resident pages of seg past `keep` bytes (64 KiB multiple).
void purge_tail(segment* seg, std::size_t keep) noexcept {
    if (seg->huge_dirty <= keep) return;
    os::purge(reinterpret_cast<char*>(seg) + keep, seg->huge_dirty - keep);
    seg->huge_dirty = keep;
}

// A huge segment header (huge_header_size bytes) at the start of a cacheable
// mapping of `reserved` bytes at base, which may hold old data (split_tail).
// Only the header's part of the segment struct is written: the block begins
// where page descriptor 1 would, and a huge segment's pointers all map to
// descriptor 0 (page_shift 22), the only one read.
segment* init_cacheable(void* base, std::size_t reserved) noexcept {
    std::memset(base, 0, huge_header_size);
    auto* seg = static_cast<segment*>(base);
    seg->kind = page_kind::huge;
    seg->page_shift = segment_shift;
    seg->page_count = 0;
    seg->map_base = base;
    seg->map_size = reserved;
    seg->huge_size = 0;
    seg->huge_dirty = huge_header_size;
    seg->pages[0].flags.store(page_huge, std::memory_order_relaxed);
    return seg;
}

// Makes seg's reservation `reserved` bytes (more than it has): grown in
// place when the address space behind it is free, else its pages are moved
// to a fresh 4 MiB-aligned reservation (no copy, no page fault; the header
// moves with them). `registered` is the block whose registry byte says where
// the header is (nullptr for a cached mapping, which is not registered): it is
// cleared before the old range can be mapped by anyone else. Returns the
// segment, moved or not, or nullptr with seg unchanged; errno is kept.
segment* enlarge(segment* seg, std::size_t reserved, void* registered) noexcept {
    const int saved_errno = errno;  // a refused growth is not the caller's error
    if (os_resize_in_place(seg, seg->map_size, reserved)) {
        seg->map_size = reserved;
        return seg;
    }
    errno = saved_errno;
    void* target = os_reserve(reserved, segment_size);
    if (target == nullptr) {
        errno = saved_errno;
        return nullptr;
    }
    if (registered != nullptr) registry_set(registered, 0);
    if (!os::move_to(seg, seg->map_size, reserved, target)) {
        if (registered != nullptr) registry_set(registered, 1);
        os::release(target, reserved);
        errno = saved_errno;
        return nullptr;
    }
    seg = static_cast<segment*>(target);
    seg->map_base = target;
    seg->map_size = reserved;
    return seg;
}

// Bytes to reserve for a block ending `exact` bytes (a page multiple) into its
// mapping, `roomy` with room to grow: whole 4 MiB units (so the mapping can
// grow in place and serve any later request from the cache), or only `exact`
// when address space is tight (os_address_space_tight: the unused part of
// every reservation would count against the limit).
std::size_t reservation_for(std::size_t exact, std::size_t roomy) noexcept {
    return os_address_space_tight() ? exact : align_up(roomy, segment_size);
}

// A cached mapping (unregistered) whose reservation is below `need` bytes,
// enlarged keeping its pages (reservation_for). On failure the mapping is
// released and nullptr returned (the caller maps afresh).
segment* grow_reservation(segment* seg, std::size_t exact, std::size_t need) noexcept {
    segment* grown = enlarge(seg, reservation_for(exact, need), nullptr);
    if (grown == nullptr) release_mapping(seg);
    return grown;
}

// A reused mapping whose dirty bytes exceed the block's need by more than
// excess_bound: its 4 MiB units past the block go back to the cache as a
// mapping of their own, pages kept, rather than being purged. What stays is
// within 4 MiB (<= the bound) of need. Counted as mapped by its dirty bytes.
void split_tail(segment* seg, std::size_t need, std::uint64_t now) noexcept {
    const std::size_t cut = align_up(need, segment_size);
    if (cut >= seg->map_size || seg->huge_dirty <= cut) return;
    segment* tail = init_cacheable(reinterpret_cast<char*>(seg) + cut, seg->map_size - cut);
    tail->huge_dirty = seg->huge_dirty - cut;
    seg->map_size = cut;
    seg->huge_dirty = cut;
    set_size(tail, tail->huge_dirty);
    if (!cache_put(tail, now)) release_mapping(tail);
}

// A fresh cacheable mapping of `reserved` bytes (reservation_for), header initialised.
segment* map_cacheable(std::size_t reserved) noexcept {
    void* base = os_map(reserved, segment_size);
    if (base == nullptr) return nullptr;
    if (get_options().huge_pages && reserved >= 2 * segment_size) os::advise_huge(base, reserved, true);
    return init_cacheable(base, reserved);
}

void* alloc_cacheable(std::size_t size, std::size_t align) noexcept {
    const std::size_t offset = align_up(huge_header_size, align);
    const std::size_t exact = align_up(offset + (size == 0 ? 1 : size), os::page_size());
    std::size_t need = align_up(exact, huge_granule);
    segment* seg = nullptr;
    if (get_options().purge_delay_ms != 0) {
        maybe_purge_cache();
        seg = cache_take(need);
        if (seg != nullptr && seg->map_size < exact) seg = grow_reservation(seg, exact, need);
        if (seg != nullptr && seg->huge_dirty > need + excess_bound(need)) split_tail(seg, need, now_ms());
    }
    if (seg == nullptr) {
        seg = map_cacheable(reservation_for(exact, need));
        if (seg == nullptr) return nullptr;
    }
    if (seg->map_size < need) need = exact;  // a tight reservation: the block ends where it does
    char* user = reinterpret_cast<char*>(seg) + offset;
    seg->huge_block = user;
    set_size(seg, need);
    if (!registry_set(user, 1)) {
        release_mapping(seg);
        errno = ENOMEM;
        return nullptr;
    }
    return user;
}

// align >= 4 MiB: the header 4 MiB below the block; neither cached nor resized.
void* alloc_over_aligned(std::size_t size, std::size_t align) noexcept {
    const std::size_t total = align_up(align + (size == 0 ? 1 : size), huge_granule);
    void* base = os_map(total, align);
    if (base == nullptr) return nullptr;
    char* user = static_cast<char*>(base) + align;
    segment* seg = new (user - segment_size) segment();
    if (get_options().huge_pages && total >= 2 * segment_size) os::advise_huge(base, total, true);
    seg->kind = page_kind::huge;
    seg->page_shift = segment_shift;
    seg->page_count = 0;
    seg->map_base = base;
    seg->map_size = total;
    seg->huge_block = user;
    seg->huge_size = total;
    seg->huge_dirty = total;
    seg->pages[0].flags.store(page_huge, std::memory_order_relaxed);
    seg->pages[1].flags.store(page_huge, std::memory_order_relaxed);
    if (!registry_set(user, 2)) {
        os::release(base, total);
        errno = ENOMEM;
        return nullptr;
    }
    segment_count_mapped(static_cast<std::ptrdiff_t>(total));
    return user;
}

}  // namespace

void* huge_alloc(std::size_t size, std::size_t align) noexcept {
    if (align < 16) align = 16;
    if (size > max_request || align > max_request) {
        errno = ENOMEM;
        return nullptr;
    }
    return align < segment_size ? alloc_cacheable(size, align) : alloc_over_aligned(size, align);
}

void huge_zero(segment* seg, void* p, std::size_t size) noexcept {
    char* dirty_end = static_cast<char*>(seg->map_base) + seg->huge_dirty;
    char* end = static_cast<char*>(p) + size;
    if (end > dirty_end) end = dirty_end;
    if (end > static_cast<char*>(p)) std::memset(p, 0, static_cast<std::size_t>(end - static_cast<char*>(p)));
}

void huge_free(segment* seg, void* p, const char* op) noexcept {
    if (p != seg->huge_block) {
        const char* b = seg->huge_block;
        if (static_cast<char*>(p) > b && static_cast<char*>(p) < b + huge_usable(seg, b)) {
            report_not_block_start(op, p, b);
        }
        report_foreign(op, p);
    }
    registry_set(p, 0);
    if (!cacheable(seg)) {
        segment_count_mapped(-static_cast<std::ptrdiff_t>(seg->huge_size));
        os::release(seg->map_base, seg->map_size);
        return;
    }
    if (seg->huge_dirty < seg->huge_size) seg->huge_dirty = seg->huge_size;  // the program may have touched it all
    const std::int64_t delay = get_options().purge_delay_ms;
    if (delay == 0 || !cache_put(seg, now_ms())) {
        release_mapping(seg);
        return;
    }
    maybe_purge_cache();
}

std::size_t huge_usable(const segment* seg, const void* p) noexcept {
    return static_cast<std::size_t>(static_cast<const char*>(seg->map_base) + seg->huge_size -
                                    static_cast<const char*>(p));
}

void* huge_resize(segment* seg, void* p, std::size_t size) noexcept {
    if (!cacheable(seg) || p != seg->huge_block || size > max_request) return nullptr;
    const std::size_t offset = static_cast<std::size_t>(static_cast<char*>(p) - reinterpret_cast<char*>(seg));
    const std::size_t exact = align_up(offset + size, os::page_size());
    std::size_t need = align_up(exact, huge_granule);
    if (need > seg->map_size && exact <= seg->map_size) need = seg->map_size;  // a tight reservation holds it
    if (seg->huge_dirty < seg->huge_size) seg->huge_dirty = seg->huge_size;
    if (need <= seg->huge_size) {  // shrink: the tail goes back to the OS
        purge_tail(seg, need);
        set_size(seg, need);
        return p;
    }
    if (need <= seg->map_size) {  // grow within the reservation: nothing to map
        set_size(seg, need);
        return p;
    }
    // Grow the reservation (by a quarter more, for the next growth, unless
    // address space is tight), keeping the pages.
    segment* grown = enlarge(seg, reservation_for(exact, need + need / 4), p);
    if (grown == nullptr) return nullptr;
    char* user = reinterpret_cast<char*>(grown) + offset;
    grown->huge_block = user;
    set_size(grown, need <= grown->map_size ? need : exact);
    if (grown == seg) return p;
    registry_set(user, 1);
    return user;
}

bool huge_cache_purge(std::uint64_t now_ms, std::int64_t delay_ms, bool force) noexcept {
    if (!force && delay_ms < 0) return false;
    if (g_cache_hint.load(std::memory_order_relaxed) == 0) return false;
    const std::uint64_t d = delay_ms < 0 ? 0 : static_cast<std::uint64_t>(delay_ms);
    segment* expired[cache_slots];
    unsigned n = 0;
    {
        lock_guard guard(g_cache_lock);
        // oldest first: expired entries form a prefix
        while (g_cache_count > 0 && (force || (now_ms >= g_cache[0].freed_ms && now_ms - g_cache[0].freed_ms >= d))) {
            expired[n++] = g_cache[0].seg;
            cache_remove_at(0);
        }
    }
    for (unsigned i = 0; i < n; ++i) release_mapping(expired[i]);
    return n != 0;
}

huge_cache_info huge_cache_stats() noexcept {
    lock_guard guard(g_cache_lock);
    return {g_cache_count, g_cache_bytes};
}

std::size_t huge_cache_visit(void (*fn)(void* ctx, const segment* seg, std::size_t dirty), void* ctx) noexcept {
    lock_guard guard(g_cache_lock);
    for (unsigned i = 0; i < g_cache_count; ++i) fn(ctx, g_cache[i].seg, g_cache[i].dirty);
    return g_cache_bytes;
}

void huge_cache_lock() noexcept { g_cache_lock.lock(); }
void huge_cache_unlock() noexcept { g_cache_lock.unlock(); }

}  // namespace heapkit::hkmalloc
