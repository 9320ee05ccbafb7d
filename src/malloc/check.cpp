// check: heapkit::gp_check(), the allocator's consistency check.
//
// It walks what the allocator can reach and checks the invariants its files
// state:
//   heap.hpp     current[c] is queues[c].first or &empty_page, direct[] equals
//                current[] of its class; a page in use is in exactly one of
//                queues[its class] (flag page_in_full clear) or full (set);
//                list links agree both ways.
//   segment.hpp  used_pages = pages without page_unused; a segment is
//                registered (registry byte 1) while mapped; all pages of a
//                segment belong to its owner (nullptr in the pool); a heap's
//                segments with unused pages come before full ones.
//   page.hpp     capacity <= reserved; every block of free, local_free and
//                thread_free is one of the first `capacity` blocks, at a block
//                start, in one list only; used = capacity - free - local_free
//                (thread_free blocks count as used) and thread_free's count
//                is its list's length; carved = capacity * block_size; magic
//                matches block_size; local_owner is the owner exactly when
//                flags == 0.
//   large.hpp    a cached mapping is not registered; huge_size <= map_size and
//                dirty bytes within the mapping; the cache's byte sum is its
//                entries' sum.
//   and the bytes of all this are at most the mapped bytes counted.
//
// Data: a bitmap per page on the stack (at most 4096 blocks a page) finds
// blocks listed twice. Nothing is allocated, nothing is changed. It reads
// other threads' owner-only fields, so the caller makes sure no other thread
// allocates or frees meanwhile.
#include <heapkit/malloc.hpp>

#include "heap.hpp"
#include "large.hpp"

#include <cstring>

namespace heapkit::hkmalloc {
namespace {

constexpr std::size_t max_page_blocks = 4096;
constexpr std::uint64_t walk_limit = std::uint64_t{1} << 32;  // a list longer than this is a cycle

struct checker {
    gp_check_result* r;

    // Records the first violation: "<what> (at 0x<where>: <value>)".
    bool fail(const char* what, const void* where, std::uint64_t value) noexcept {
        if (!r->ok) return false;
        r->ok = false;
        char* out = r->message;
        char* end = r->message + sizeof r->message - 1;
        auto put = [&](char c) {
            if (out < end) *out++ = c;
        };
        for (const char* t = what; *t != '\0'; ++t) put(*t);
        put(' ');
        put('(');
        put('a');
        put('t');
        put(' ');
        put('0');
        put('x');
        const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(where);
        bool started = false;
        for (int shift = 60; shift >= 0; shift -= 4) {
            const unsigned d = static_cast<unsigned>((a >> shift) & 15);
            if (d != 0 || started || shift == 0) {
                put(static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10));
                started = true;
            }
        }
        put(':');
        put(' ');
        char digits[24];
        int n = 0;
        do {
            digits[n++] = static_cast<char>('0' + value % 10);
            value /= 10;
        } while (value != 0);
        while (n > 0) put(digits[--n]);
        put(')');
        *out = '\0';
        return false;
    }

    static std::uint8_t registry_byte(const void* p) noexcept {
        std::atomic<std::uint8_t>* reg = registry.load(std::memory_order_acquire);
        if (reg == nullptr) return 0;
        return reg[reinterpret_cast<std::uintptr_t>(p) >> segment_shift].load(std::memory_order_relaxed);
    }

    // Walks one block list of pg, marking blocks in `seen`; the number of blocks, or ~0 on a violation.
    std::uint64_t walk_blocks(const page* pg, const block* head, std::uint64_t* seen, const char* list) noexcept {
        std::uint64_t n = 0;
        const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(pg->start);
        const std::uintptr_t limit = start + std::uintptr_t{pg->capacity} * pg->block_size;
        for (const block* b = head; b != nullptr; b = b->next) {
            const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(b);
            if (a < start || a >= limit) {
                fail(list, b, pg->capacity);
                return ~std::uint64_t{0};
            }
            const std::uintptr_t i = (a - start) / pg->block_size;
            if (a - start != i * pg->block_size) {
                fail("a listed block is not at a block start", b, pg->block_size);
                return ~std::uint64_t{0};
            }
            if ((seen[i / 64] >> (i % 64)) & 1) {
                fail("a block is listed twice (free, local_free or thread_free)", b, i);
                return ~std::uint64_t{0};
            }
            seen[i / 64] |= std::uint64_t{1} << (i % 64);
            ++n;
        }
        return n;
    }

    // An in-use page of seg, owned by `owner` (nullptr: pooled).
    bool check_page(const segment* seg, const page* pg, const heap* owner) noexcept {
        char* start;
        char* end;
        segment_page_area(const_cast<segment*>(seg), pg->index, &start, &end);
        const std::uint32_t bs = pg->block_size;
        if (bs == 0 || bs % 16 != 0) return fail("page in use with a bad block size", pg, bs);
        if (pg->size_class >= class_count || classes.size[pg->size_class] != bs)
            return fail("page's block size is not its class's", pg, pg->size_class);
        if (pg->start != start) return fail("page's start is not its area's", pg, pg->index);
        if (pg->magic != block_magic(bs)) return fail("page's magic does not match its block size", pg, bs);
        if (pg->reserved != static_cast<std::uint32_t>(static_cast<std::size_t>(end - start) / bs))
            return fail("page's reserved is not the blocks that fit", pg, pg->reserved);
        if (pg->capacity > pg->reserved) return fail("page's capacity exceeds reserved", pg, pg->capacity);
        if (pg->carved.load(std::memory_order_relaxed) != pg->capacity * bs)
            return fail("page's carved bytes are not capacity * block_size", pg, pg->carved.load());
        if (pg->capacity > max_page_blocks) return fail("page has more blocks than any page can", pg, pg->capacity);
        const std::uint8_t fl = pg->flags.load(std::memory_order_relaxed);
        const heap* lo = pg->local_owner.load(std::memory_order_relaxed);
        if ((fl == 0 && lo != owner) || (fl != 0 && lo != nullptr))
            return fail("page's local_owner is not its owner exactly when flags == 0", pg, fl);
        std::uint64_t seen[max_page_blocks / 64] = {};
        const std::uint64_t nf = walk_blocks(pg, pg->free, seen, "a block of `free` is outside the carved blocks");
        if (nf == ~std::uint64_t{0}) return false;
        const std::uint64_t nl =
            walk_blocks(pg, pg->local_free, seen, "a block of `local_free` is outside the carved blocks");
        if (nl == ~std::uint64_t{0}) return false;
        const std::uintptr_t tf = pg->thread_free.load(std::memory_order_acquire);
        const std::uint64_t nt = walk_blocks(pg, reinterpret_cast<const block*>(tf & tf_head_mask), seen,
                                             "a block of `thread_free` is outside the carved blocks");
        if (nt == ~std::uint64_t{0}) return false;
        if (nt != (tf >> tf_count_shift)) return fail("thread_free's count is not its list's length", pg, nt);
        if (std::uint64_t{pg->used} + nf + nl != pg->capacity)
            return fail("page's used + free + local_free is not its capacity", pg, pg->used);
        if (nt > pg->used) return fail("page has more remote frees pending than blocks in use", pg, nt);
        r->blocks_free += nf + nl;
        r->blocks_used += pg->used;
        ++r->pages;
        return true;
    }

    // A segment of a heap (owner) or of the pool (owner nullptr); counts its in-use pages in *in_use.
    bool check_segment(const segment* seg, unsigned kind, const heap* owner, std::uint64_t* in_use) noexcept {
        if (static_cast<unsigned>(seg->kind) != kind) return fail("segment is in the list of another kind", seg, kind);
        if (seg->owner.load(std::memory_order_relaxed) != owner) return fail("segment's owner is not its list's", seg, 0);
        if (registry_byte(seg) != 1) return fail("segment is not registered", seg, registry_byte(seg));
        if (seg->page_shift != page_shift_of(seg->kind) || seg->page_count != (segment_size >> seg->page_shift))
            return fail("segment's page shift or count does not match its kind", seg, seg->page_count);
        std::uint32_t used = 0;
        for (unsigned i = 0; i < seg->page_count; ++i) {
            const page* pg = &seg->pages[i];
            if (pg->index != i) return fail("page descriptor's index is not its position", pg, pg->index);
            const std::uint8_t fl = pg->flags.load(std::memory_order_relaxed);
            if ((fl & page_huge) != 0) return fail("huge flag on a page of a small/medium/large segment", pg, fl);
            if ((fl & page_unused) != 0) {
                if (pg->local_owner.load(std::memory_order_relaxed) != nullptr)
                    return fail("unused page has a local_owner", pg, fl);
                if (pg->carved.load(std::memory_order_relaxed) != 0) return fail("unused page has carved blocks", pg, 0);
                continue;
            }
            ++used;
            if (owner == nullptr && (fl & page_in_full) != 0) return fail("pooled page is flagged full", pg, fl);
            if (!check_page(seg, pg, owner)) return false;
        }
        if (used != seg->used_pages) return fail("segment's used_pages is not its pages in use", seg, seg->used_pages);
        *in_use += used;
        ++r->segments;
        return true;
    }

    // Walks a page list (queue or full) of h: links both ways, membership flags; counts pages.
    bool check_list(const heap* h, const page_queue& q, int c, std::uint64_t* count) noexcept {
        const page* prev = nullptr;
        std::uint64_t n = 0;
        for (const page* pg = q.first; pg != nullptr; prev = pg, pg = pg->next) {
            if (++n > walk_limit) return fail("a page list does not end", h, static_cast<std::uint64_t>(c));
            if (pg->prev != prev) return fail("page's prev link disagrees with its list", pg, 0);
            const std::uint8_t fl = pg->flags.load(std::memory_order_relaxed);
            if ((fl & (page_unused | page_huge)) != 0) return fail("unused or huge page in a heap's list", pg, fl);
            const bool in_full = (fl & page_in_full) != 0;
            if (in_full != (c < 0)) return fail("page_in_full disagrees with the list holding the page", pg, fl);
            if (c >= 0 && pg->size_class != static_cast<unsigned>(c))
                return fail("page is in the queue of another class", pg, pg->size_class);
            const segment* seg =
                reinterpret_cast<const segment*>(reinterpret_cast<std::uintptr_t>(pg) & ~segment_mask);
            if (seg->owner.load(std::memory_order_relaxed) != h)
                return fail("page in a heap's list belongs to another heap's segment", pg, 0);
        }
        if (q.last != prev) return fail("list's last is not its last page", h, static_cast<std::uint64_t>(c));
        *count += n;
        return true;
    }

    bool check_heap(const heap* h) noexcept {
        ++r->heaps;
        std::uint64_t listed = 0;
        for (unsigned c = 0; c < class_count; ++c) {
            const page* want = h->queues[c].first != nullptr ? h->queues[c].first : &empty_page;
            if (h->current[c] != want) return fail("current[class] is not the first page of its queue", h, c);
            if (c < direct_classes) {
                for (unsigned i = classes.direct_first[c]; i < classes.direct_first[c + 1]; ++i) {
                    if (h->direct[i] != want) return fail("direct[] is not current[] of its class", h, i);
                }
            }
            if (!check_list(h, h->queues[c], static_cast<int>(c), &listed)) return false;
        }
        if (!check_list(h, h->full, -1, &listed)) return false;
        std::uint64_t in_use = 0;
        for (unsigned k = 0; k < page_kinds; ++k) {
            const segment* prev = nullptr;
            bool seen_full = false;
            std::uint64_t n = 0;
            for (const segment* seg = h->segments[k]; seg != nullptr; prev = seg, seg = seg->next) {
                if (++n > walk_limit) return fail("a heap's segment list does not end", h, k);
                if (seg->prev != prev) return fail("segment's prev link disagrees with its list", seg, k);
                if (!check_segment(seg, k, h, &in_use)) return false;
                const bool full = seg->used_pages == seg->page_count;
                if (!full && seen_full) return fail("segment with unused pages after a full one", seg, k);
                seen_full = seen_full || full;
            }
        }
        if (in_use != listed) return fail("pages in use are not exactly the pages in the heap's lists", h, in_use);
        if (!h->active && (listed != 0 || h->segments[0] || h->segments[1] || h->segments[2]))
            return fail("a heap without a thread holds pages or segments", h, listed);
        return true;
    }

    bool check_pool() noexcept {
        std::uint64_t count = 0;
        for (unsigned k = 0; k < page_kinds; ++k) {
            const segment* last = nullptr;
            for (const segment* seg = pool_first_locked(k); seg != nullptr; last = seg, seg = seg->next) {
                if (++count > walk_limit) return fail("the abandoned pool does not end", nullptr, k);
                std::uint64_t in_use = 0;
                if (!check_segment(seg, k, nullptr, &in_use)) return false;
            }
            if (pool_last_locked(k) != last) return fail("the pool's last segment is not its last", last, k);
        }
        if (count != pool_count_locked()) return fail("the pool's count is not its segments", nullptr, count);
        r->pooled_segments = count;
        return true;
    }
};

struct cache_walk {
    checker* ck;
    std::size_t dirty_sum;
    std::size_t mapped;  // huge_size of the entries
};

void visit_cached(void* ctx, const segment* seg, std::size_t dirty) noexcept {
    auto* w = static_cast<cache_walk*>(ctx);
    ++w->ck->r->cached_mappings;
    w->dirty_sum += dirty;
    w->mapped += seg->huge_size;
    if (seg->kind != page_kind::huge) w->ck->fail("a cached mapping is not a huge segment", seg, 0);
    if (checker::registry_byte(seg) != 0) w->ck->fail("a cached mapping is still registered", seg, 0);
    if (seg->map_base != seg) w->ck->fail("a cached mapping does not start at its header", seg, 0);
    if (seg->huge_size > seg->map_size) w->ck->fail("a cached mapping's size exceeds its reservation", seg, 0);
    if (seg->huge_dirty > seg->map_size || dirty != seg->huge_dirty)
        w->ck->fail("a cached mapping's dirty bytes disagree with its entry or exceed its reservation", seg, dirty);
}

}  // namespace
}  // namespace heapkit::hkmalloc

namespace heapkit {

gp_check_result gp_check() noexcept {
    using namespace hkmalloc;
    gp_check_result r;
    checker ck{&r};
    std::size_t segments_before = 0;
    pool_lock();
    for (const heap* h = heaps_all_locked(); h != nullptr && r.ok; h = h->next_all) ck.check_heap(h);
    if (r.ok) ck.check_pool();
    segments_before = r.segments;
    pool_unlock();
    cache_walk w{&ck, 0, 0};
    const std::size_t cache_bytes = huge_cache_visit(&visit_cached, &w);
    if (r.ok && cache_bytes != w.dirty_sum) ck.fail("the huge cache's byte count is not its entries' sum", nullptr, cache_bytes);
    const std::size_t reachable = segments_before * segment_size + w.mapped;
    if (r.ok && reachable > segment_mapped_bytes())
        ck.fail("segments and cached mappings exceed the mapped bytes counted", nullptr, reachable);
    return r;
}

}  // namespace heapkit
