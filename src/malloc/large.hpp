// large (huge) blocks: requests above max_class_size (512 KiB), and aligned
// requests that do not fit a class, get a mapping of their own laid out as a
// segment, so that free() finds them with the same mask + registry lookup.
// Freed mappings wait in a small global cache for reuse, and a block that
// grows is resized in place (or its pages are moved, never copied).
//
//   align < 4 MiB ("cacheable"): a reservation of whole 4 MiB units, mapped
//   read/write without reserve (untouched pages cost nothing); when address
//   space is tight (os_address_space_tight: a finite RLIMIT_AS, overcommit
//   mode 2) only header + block rounded to a page, and growth is exact too
//     │ header │ pad │ block ...                   │ room to grow ...        │
//     seg = map_base   block = seg + align_up(huge_header_size, align)
//     ├──────────────── huge_size (64 KiB granules; a tight reservation: map_size) ──┤
//     ├──────── huge_dirty ──────────┤   past it: never touched since mapped/purged, reads as zero
//     ├──────────────────────── map_size (multiple of 4 MiB, or of a page when tight) ────┤
//   align >= 4 MiB: map(align + size, align), not cached, not resized
//     │ ... │ segment header │ block ...              │
//     mapping   block - 4 MiB   block = mapping + align  (registry byte 2 at block)
//
// The cache: up to cache_slots freed cacheable mappings (dirty bytes at most
// cache_max_bytes (80 MiB) in all), oldest first, behind one spin lock (huge blocks are
// rare next to the cost of the system calls the cache saves). A request takes
// the best fit among all cached mappings: the one whose dirty bytes cover it
// with the least excess, else the one with the most dirty bytes (fewest page
// faults). A reservation too small for the request grows (mremap in place, or
// its pages move to a fresh reservation: no copy, no fault); dirty bytes beyond
// a bound past the block are split off at a 4 MiB boundary and cached as a
// mapping of their own (pages kept, counted as mapped by their dirty bytes). Entries
// are unmapped when they have waited HEAPKIT_PURGE_DELAY ms (checked on every
// huge malloc/free and in every heap purge), when the cache is over its bound
// (oldest first), and all at once by malloc_trim. HEAPKIT_PURGE_DELAY=0
// disables the cache (freed at once); -1 keeps entries until evicted or trimmed.
//
// realloc of a cacheable block that stays huge: within the reservation only
// huge_size changes; beyond it the reservation grows with mremap in place, or
// the pages move to a fresh 4 MiB-aligned reservation (mremap MREMAP_FIXED);
// a block shrunk below half gives its tail back (purge).
//
// Invariants: huge_size <= map_size; a cached mapping is not registered (free() of it reports a
// foreign pointer); huge_size bytes of every live or cached huge segment are
// counted in segment_count_mapped (layout 2: map_size); huge_block is the only
// pointer free() accepts for the segment.
#pragma once

#include "segment.hpp"

#include <cstddef>
#include <cstring>
#include <cstdint>

namespace heapkit::hkmalloc {

// Bytes before a cacheable huge block (align <= 64): the segment's fields and
// page descriptor 0, which free() and usable_size read for any pointer of a
// huge segment. Not the 64 descriptors of a class segment (segment_header_size,
// 8 KiB more): a huge block's mapping is its size plus at most a page of header.
inline constexpr std::size_t huge_header_size = (offsetof(segment, pages) + sizeof(page) + 63) & ~std::size_t{63};
static_assert(huge_header_size <= 512, "a huge block's header stays small");

// A block of at least `size` bytes aligned to `align` (a power of two >= 16).
// Not zeroed when it comes from the cache: see huge_zero.
void* huge_alloc(std::size_t size, std::size_t align) noexcept;
// Zeroes the first `size` bytes of huge block p where they may be non-zero (calloc).
void huge_zero(segment* seg, void* p, std::size_t size) noexcept;
// Frees a huge block (to the cache or the OS); reports p when it is not the segment's block.
void huge_free(segment* seg, void* p, const char* op) noexcept;
// Bytes usable from p to the end of the block.
std::size_t huge_usable(const segment* seg, const void* p) noexcept;
// Resizes huge block p (its segment's block) to hold `size` (> max_class_size) bytes without
// copying: the block (perhaps moved, same offset in its segment), or nullptr when it cannot
// (layout 2, or the OS refused), p intact.
void* huge_resize(segment* seg, void* p, std::size_t size) noexcept;

// Unmaps cached mappings freed at least delay_ms before now_ms (all when `force`);
// true when something was unmapped. delay_ms < 0 and !force: nothing.
bool huge_cache_purge(std::uint64_t now_ms, std::int64_t delay_ms, bool force) noexcept;

struct huge_cache_info {
    std::size_t blocks;       // mappings in the cache
    std::size_t dirty_bytes;  // bytes of them that may be resident
};
huge_cache_info huge_cache_stats() noexcept;

// For gp_check: calls fn(ctx, seg, dirty) for every cached mapping (oldest
// first) under the cache lock; returns the cache's sum of dirty bytes.
std::size_t huge_cache_visit(void (*fn)(void* ctx, const segment* seg, std::size_t dirty), void* ctx) noexcept;

// Fork safety: taken before fork, released in parent and child (heap.cpp's handlers).
void huge_cache_lock() noexcept;
void huge_cache_unlock() noexcept;

}  // namespace heapkit::hkmalloc
