// segment: 4 MiB of address space aligned to 4 MiB, the unit heapkit malloc
// takes from the OS. A pointer's segment is the pointer with its low 22 bits
// cleared, and a global registry says in O(1) whether that is a heapkit
// segment at all.
//
//   segment (4 MiB, aligned)                         kind small: 64 pages of 64 KiB
//   ┌────────────┬──────────┬──────────┬─────┬──────────┐
//   │ header +   │ page 0   │ page 1   │ ... │ page 63  │  medium: 4 pages of 1 MiB
//   │ page descr.│ blocks   │ blocks   │     │ blocks   │  large:  1 page of 4 MiB
//   └────────────┴──────────┴──────────┴─────┴──────────┘  huge:   one block, mapped
//   page i covers [seg + i << page_shift, seg + (i+1) << page_shift), page 0 after the header.
//
//   registry: one byte per 4 MiB of the 47-bit user address space (32 MiB of
//   address space mapped without reserve; untouched parts read as zero pages)
//     0 = not heapkit's, 1 = a segment header starts here,
//     2 = a huge block aligned to >= 4 MiB starts here, its header is 4 MiB below.
//
// Ownership: all pages of a small/medium/large segment belong to one heap
// (`owner`), or to none while the segment waits in the abandoned pool. Huge
// segments have no owner; any thread frees them straight to the OS.
//
// Invariants: used_pages = pages whose flags lack page_unused; a segment is
// registered from the moment it is mapped until just before it is released.
#pragma once

#include "page.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace heapkit::hkmalloc {

struct heap;

inline constexpr unsigned segment_shift = 22;
inline constexpr std::size_t segment_size = std::size_t{1} << segment_shift;
inline constexpr std::uintptr_t segment_mask = segment_size - 1;
inline constexpr unsigned max_pages = 64;
inline constexpr unsigned address_bits = 47;

enum class page_kind : std::uint8_t { small = 0, medium = 1, large = 2, huge = 3 };
inline constexpr unsigned page_kinds = 3;  // kinds with pages (not huge)

constexpr unsigned page_shift_of(page_kind k) noexcept {
    return k == page_kind::small ? 16 : k == page_kind::medium ? 20 : 22;
}

struct segment {
    page_kind kind = page_kind::small;
    std::uint8_t page_shift = 16;       // pages are 1 << page_shift bytes
    std::uint32_t page_count = 0;       // segment_size >> page_shift (huge: 0)
    std::uint32_t used_pages = 0;       // see invariants
    std::atomic<heap*> owner{nullptr};  // the heap owning every page; nullptr when abandoned or huge
    segment* next = nullptr;            // in the owner's segment list or the abandoned pool
    segment* prev = nullptr;
    std::uint64_t free_since_ms = 0;  // when used_pages became 0
    // huge segments only
    void* map_base = nullptr;    // the mapping to release (may start below the segment)
    std::size_t map_size = 0;    // bytes mapped at map_base (address space; large.hpp: may exceed huge_size)
    char* huge_block = nullptr;  // the one block
    // [large.cpp, huge-block cache] bytes from map_base to the block's end (<= map_size), and bytes
    // from map_base that may be resident or non-zero (past it the mapping reads as zero)
    std::size_t huge_size = 0;
    std::size_t huge_dirty = 0;
    page pages[max_pages];  // page_count descriptors in use
};

// Bytes before page 0's first block (the header), rounded to 64.
inline constexpr std::size_t segment_header_size = (sizeof(segment) + 63) & ~std::size_t{63};

// The registry (nullptr until the first segment is mapped).
inline constinit std::atomic<std::atomic<std::uint8_t>*> registry{nullptr};

// The segment holding p, or nullptr when p is not in a heapkit segment.
inline segment* segment_of(const void* p) noexcept {
    const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
    std::atomic<std::uint8_t>* reg = registry.load(std::memory_order_relaxed);
    if ((a >> address_bits) != 0 || reg == nullptr) return nullptr;
    const std::uint8_t v = reg[a >> segment_shift].load(std::memory_order_relaxed);
    if (__builtin_expect(v == 1, 1)) return reinterpret_cast<segment*>(a & ~segment_mask);
    if (v == 2) return reinterpret_cast<segment*>((a & ~segment_mask) - segment_size);
    return nullptr;
}

// free()'s fast lookup: true when a segment header starts at p's 4 MiB chunk
// (registry byte 1; the segment is then p & ~segment_mask); false for foreign
// pointers and huge blocks aligned to >= 4 MiB (the slow path looks again).
inline bool in_small_segment(const void* p) noexcept {
    const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
    std::atomic<std::uint8_t>* reg = registry.load(std::memory_order_relaxed);
    if (__builtin_expect((a >> address_bits) != 0 || reg == nullptr, 0)) return false;
    return reg[a >> segment_shift].load(std::memory_order_relaxed) == 1;
}

// The page descriptor for p inside seg.
inline page* page_of(segment* seg, const void* p) noexcept {
    // &seg->pages[i] written as one shift and add, so the compiler folds the array's offset into the loads
    const std::uintptr_t i = (reinterpret_cast<std::uintptr_t>(p) & segment_mask) >> seg->page_shift;
    return reinterpret_cast<page*>(reinterpret_cast<char*>(seg) + offsetof(segment, pages) + i * sizeof(page));
}

// The memory page i of seg covers: [*start, *end).
void segment_page_area(segment* seg, unsigned i, char** start, char** end) noexcept;

// Maps and registers a fresh segment of `kind` owned by h; nullptr when the OS refuses.
segment* segment_alloc(page_kind kind, heap* h) noexcept;
// Unregisters and unmaps a segment with no used pages.
void segment_release(segment* seg) noexcept;
// Sets the registry byte of the 4 MiB chunk holding p (false if the registry cannot be mapped).
bool registry_set(const void* p, std::uint8_t value) noexcept;

// Bytes of segments currently mapped (all kinds, huge included), and the peak.
std::size_t segment_mapped_bytes() noexcept;
std::size_t segment_mapped_peak() noexcept;
void segment_count_mapped(std::ptrdiff_t delta) noexcept;

}  // namespace heapkit::hkmalloc
