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
// When `free` runs dry the owner's slow path takes thread_free's list (one
// atomic CAS) as its new `free` list, or else moves local_free there, and
// carves more blocks lazily (so a fresh page touches only the memory it hands
// out). thread_free also holds how many blocks its list has (bits 48-63; a
// page has at most 4096 blocks, and blocks lie below 2^47), so collecting
// does not walk the list to count it. The low two bits of thread_free carry
// the "notify" state of a full page (see heap.hpp):
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
//     owner's fast path (in use, not full, no aligned blocks); local_owner is
//     the owning heap exactly then (nullptr otherwise), so the fast path
//     reads one field of the page instead of the segment's owner and flags;
//   - carved == capacity * block_size; block_size, start, magic and carved
//     (which only grows) are stable while any block of the page is in use, so
//     any thread freeing a block of it may read them.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace heapkit::hkmalloc {

struct block {
    block* next;
};

struct heap;

// thread_free's notify states (low two bits), list head (bits 2-47) and block count (bits 48-63).
inline constexpr std::uintptr_t tf_none = 0, tf_notify = 1, tf_notifying = 2, tf_state_mask = 3;
inline constexpr unsigned tf_count_shift = 48;
inline constexpr std::uintptr_t tf_head_mask = ((std::uintptr_t{1} << tf_count_shift) - 1) & ~tf_state_mask;
inline constexpr std::uintptr_t tf_one = std::uintptr_t{1} << tf_count_shift;  // one more block in the list

// page::flags bits; any bit set sends free() to the slow path.
inline constexpr std::uint8_t page_in_full = 1;  // in its heap's full list
inline constexpr std::uint8_t page_aligned = 2;  // holds blocks handed out at an offset (aligned allocation)
inline constexpr std::uint8_t page_unused = 4;   // not in use: free in its segment
inline constexpr std::uint8_t page_huge = 8;     // the descriptor of a huge segment

// 128 bytes, two cache lines: the first holds what malloc and free read (free
// reads it from any thread, read-shared), the second what remote frees write
// (thread_free) and the slow path's fields, so a remote free does not
// invalidate the line the owner's fast paths use.
struct alignas(64) page {
    // ---- line 1: fast path fields ----
    block* free = nullptr;                         // blocks ready to hand out (owner only)
    block* local_free = nullptr;                   // blocks freed by the owner since the last collect (owner only)
    std::atomic<heap*> local_owner{nullptr};       // the owner heap while its frees may take the fast path (segment
                                                   // owned by it, page in use, flags == 0); else nullptr. Owner writes.
    char* start = nullptr;                         // first block; 16-aligned; stable while the page is in use
    std::uint64_t magic = 0;                       // block_magic(block_size), see block_start_ok
    std::uint32_t used = 0;                        // see invariants (owner only)
    std::atomic<std::uint32_t> carved{0};          // bytes of blocks carved = capacity * block_size; only grows in use
    std::uint32_t block_size = 0;                  // multiple of 16; 0 while unused
    std::atomic<std::uint8_t> flags{page_unused};  // page_* bits; written by the owner, read by remote frees

    // ---- line 2: remote frees, slow path ----
    alignas(64) std::atomic<std::uintptr_t> thread_free{0};  // count << 48 | block* | notify state
    std::uint32_t capacity = 0;                              // blocks carved so far; <= reserved
    std::uint32_t reserved = 0;                              // blocks that fit in the page
    std::uint32_t used_counted = 0;                          // `used` when it was last added to the heap's statistics
    std::uint16_t size_class = 0;
    std::uint16_t index = 0;  // position in its segment
    page* next = nullptr;     // in the heap's class queue or full list
    page* prev = nullptr;
    std::atomic<page*> revisit_next{nullptr};  // link in the heap's revisit list
    std::uint64_t free_since_ms = 0;           // unused: when it became unused; in use: the heap's clock when it was
                                               // last emptied by a free or seen with blocks in use (for purging)
    std::atomic<bool> revisit_queued{false};   // true while on a revisit list
    bool purged = true;                        // unused and its memory given back (or never touched)

    constexpr page() noexcept = default;
};
static_assert(sizeof(page) == 128, "page_of scales by a shift");

inline constexpr unsigned magic_shift = 44;

// The block-start check's constant for blocks of bs bytes: m = ceil(2^44 / bs),
// stored shifted left by 20 (mod 2^64) so that the check is one
// multiplication and one shift.
constexpr std::uint64_t block_magic(std::uint64_t bs) noexcept {
    return (((std::uint64_t{1} << magic_shift) + bs - 1) / bs) << (64 - magic_shift);
}

// True when `offset` (< 2^22, a segment) is a multiple of block_size, with one
// multiplication and no division. With m = ceil(2^44 / bs), bs * m = 2^44 + e
// (0 <= e < bs); for offset = q * bs + r the low 44 bits of offset * m are
// q * e + r * m (no carry: (q + 1) * e < 2^22 + 2^19 < m). r == 0: they are
// q * e < offset < 2^22; r >= 1: at least m >= 2^44 / 2^19 = 2^25. So "low 44
// bits < 2^22" is exact. offset * (m << 20) mod 2^64 is those 44 bits shifted
// to the top, so the test is "below 2^42". `magic` is block_magic(bs).
inline bool block_start_ok(std::uint64_t magic, std::uintptr_t offset) noexcept {
    return ((offset * magic) >> (64 - magic_shift + 22)) == 0;
}

// Carves up to a few KiB more blocks into the free list (capacity < reserved).
void page_extend(page* pg) noexcept;
// Takes thread_free's blocks back (used -= their count): they become `free`
// when it is empty, else join local_free; then an empty `free` takes
// local_free. Returns the number of remote frees collected.
std::uint32_t page_collect(page* pg) noexcept;
// Pushes a block freed by a thread other than the owner (lock-free); when the
// push clears the page's notify state, the page goes on its owner's revisit list.
void page_free_remote(page* pg, block* b) noexcept;
// Waits until no remote thread is notifying for this page and sets the state to `none`.
void page_clear_notify(page* pg) noexcept;
// Sets the notify state when thread_free is empty; false (state unchanged) when remote frees are pending.
bool page_set_notify(page* pg) noexcept;

}  // namespace heapkit::hkmalloc
