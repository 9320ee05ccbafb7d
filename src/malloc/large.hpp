// large (huge) blocks: requests above max_class_size (512 KiB), and aligned
// requests that do not fit a class, are mapped directly as their own segment
// so that free() finds them with the same mask + registry lookup.
//
//   align < 4 MiB:   map(align_up(header + size), 4 MiB)
//                    │ segment header │ pad │ block ...              │
//                    seg = mapping           block = seg + align_up(header, align)
//   align >= 4 MiB:  map(align + size, align)
//                    │ ... │ segment header │ block ...              │
//                    mapping   block - 4 MiB   block = mapping + align  (registry byte 2 at block)
//
// The header's pages[0] (and pages[1], for the second layout) carry page_huge,
// so free() leaves its fast path; freeing unregisters and unmaps at once.
// Invariant: huge_block is the only pointer free() accepts for the segment.
#pragma once

#include "segment.hpp"

#include <cstddef>

namespace heapkit::hkmalloc {

// A block of at least `size` bytes aligned to `align` (a power of two >= 16); zero-filled.
void* huge_alloc(std::size_t size, std::size_t align) noexcept;
// Frees a huge block; reports p when it is not the segment's block.
void huge_free(segment* seg, void* p, const char* op) noexcept;
// Bytes usable from p to the end of the mapping.
std::size_t huge_usable(const segment* seg, const void* p) noexcept;

}  // namespace heapkit::hkmalloc
