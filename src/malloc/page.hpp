// page: a run of equal-sized blocks inside a segment, with sharded free lists
// (the mimalloc design: free-list sharding per page).
//
//   start                                       start + reserved * block_size
//   │ blk │ blk │ blk │ blk │ ... carved ...  │ not yet carved ...          │
//   └──────── capacity blocks ──────────────┘
//
//   free        ──► blk ──► blk        malloc pops here (owner thread only)
//   local_free  ──► blk ──► blk        free() by the owner pushes here
//   thread_free ══► blk ══► blk | st   free() by other threads pushes here (atomic CAS)
//
// When `free` runs dry the owner's slow path moves thread_free (one atomic
// exchange) and local_free into `free`, and carves more blocks lazily (so a
// fresh page touches only the memory it hands out). The low two bits of
// thread_free carry the "notify" state of a full page (see heap.hpp):
//   none      - nothing to do;
//   notify    - the page sits in its heap's full list; the next remote free
//               sets `notifying`, pushes the page on the heap's revisit list
//               and sets `none` again;
//   notifying - a remote thread is pushing the page; the owner waits for it
//               to end before it retires the page or abandons the heap.
//
// Invariants:
//   - used = blocks handed out and not yet returned to free/local_free
//     (blocks in thread_free still count as used until collected);
//   - capacity <= reserved; every block in the three lists is one of the
//     first `capacity` blocks; no block is in two lists;
//   - flags == 0 exactly when free() of a block of this page may take the
//     owner's fast path (in use, not full, no aligned blocks).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace heapkit::hkmalloc {

struct block {
    block* next;
};

// thread_free's notify states (low two bits).
inline constexpr std::uintptr_t tf_none = 0, tf_notify = 1, tf_notifying = 2, tf_state_mask = 3;

// page::flags bits; any bit set sends free() to the slow path.
inline constexpr std::uint8_t page_in_full = 1;  // in its heap's full list
inline constexpr std::uint8_t page_aligned = 2;  // holds blocks handed out at an offset (aligned allocation)
inline constexpr std::uint8_t page_unused = 4;   // not in use: free in its segment
inline constexpr std::uint8_t page_huge = 8;     // the descriptor of a huge segment

struct page {
    // ---- fast path fields, owner thread only ----
    block* free = nullptr;         // blocks ready to hand out
    block* local_free = nullptr;   // blocks freed by the owner since the last collect
    std::uint32_t used = 0;        // see invariants
    std::uint32_t block_size = 0;  // multiple of 16; 0 while unused
    char* start = nullptr;         // first block; 16-aligned
    std::uint64_t magic = 0;       // ceil(2^44 / block_size): offset / block_size == (offset * magic) >> 44
    std::uint32_t capacity = 0;    // blocks carved so far; <= reserved
    std::atomic<std::uint8_t> flags{page_unused};  // page_* bits; written by the owner, read by remote frees

    // ---- remote frees ----
    std::atomic<std::uintptr_t> thread_free{0};  // block* | notify state

    // ---- slow path ----
    std::uint32_t reserved = 0;  // blocks that fit in the page
    std::uint16_t size_class = 0;
    std::uint16_t index = 0;  // position in its segment
    page* next = nullptr;     // in the heap's class queue or full list
    page* prev = nullptr;
    std::atomic<page*> revisit_next{nullptr};  // link in the heap's revisit list
    std::atomic<bool> revisit_queued{false};   // true while on a revisit list
    std::uint64_t free_since_ms = 0;           // when the page became unused (for purging)
    bool purged = true;                        // unused and its memory given back (or never touched)

    constexpr page() noexcept = default;
};

inline constexpr unsigned magic_shift = 44;

// The index of the block at `offset` bytes from start when that is a block start, else ~0u.
inline std::uint32_t block_index_exact(const page* pg, std::uintptr_t offset) noexcept {
    const std::uint64_t q = (offset * pg->magic) >> magic_shift;
    return q * pg->block_size == offset ? static_cast<std::uint32_t>(q) : ~0u;
}

// Carves up to a few KiB more blocks into the free list (capacity < reserved).
void page_extend(page* pg) noexcept;
// Moves thread_free and local_free into free; returns the number of remote frees collected.
std::uint32_t page_collect(page* pg) noexcept;
// Pushes a block freed by a thread other than the owner (lock-free); `owner_notify`
// is called when the push cleared a notify state.
void page_free_remote(page* pg, block* b) noexcept;
// Waits until no remote thread is notifying for this page and sets the state to `none`.
void page_clear_notify(page* pg) noexcept;
// Sets the notify state when thread_free is empty; false (state unchanged) when remote frees are pending.
bool page_set_notify(page* pg) noexcept;

}  // namespace heapkit::hkmalloc
