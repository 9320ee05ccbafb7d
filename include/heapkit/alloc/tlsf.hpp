// heapkit::tlsf: Two-Level Segregated Fit (Masmano, Ripoll, Crespo, Real,
// "TLSF: a new dynamic memory allocator for real-time systems", 2004).
// O(1) allocate and free with immediate coalescing, for real-time use.
//
// Free blocks are filed by size in a two-level table of lists:
//
//   fl_bitmap_   0 1 1 0 0 1 ...          bit r: some list in row r is non-empty
//                  | |     |
//   sl_bitmap_[r] 32 bits per row          bit s: heads_[r][s] is non-empty
//   heads_[r][s]  -> free block <-> free block <-> ... -> null_   (doubly linked, LIFO;
//                 an empty list is a head of null_, a sentinel ending every list)
//
//   row 0    sizes [0, 512) in 32 lists of 16 bytes each (exact sizes)
//   row r>0  sizes [2^(r+8), 2^(r+9)) in 32 lists of 2^(r+3) bytes each
//
//   mapping(size):  f = floor(log2 size), fl = f - 8, sl = (size >> (f - 5)) - 32
//                   (fl = 0, sl = size / 16 below 512)
//
// Blocks are the boundary-tagged blocks of detail/boundary_tags.hpp: a
// 16-byte header (previous block's size, own size | free bit), sizes
// multiples of 16, the least block 32 bytes; both physical neighbours are
// found in O(1) and merged on free.
//
// Good fit: a request is rounded up to the start of the next list
// (mapping_search), so every block in the list found is large enough: no
// list is walked. A block in the request's own list that would fit is passed
// over while any larger list has a block; only when none has is the head of
// the own list tried (one more O(1) look, so a heap's last large block can
// still be handed out whole). Blocks are split exactly (a tail of >= 32
// bytes goes back as a free block), so good fit costs fragmentation, not
// slack.
//
// Invariants: those of detail::boundary_tag_heap, and
//   - a free block of size s is in heads_[mapping(s)] and nowhere else;
//   - a bit is set in sl_bitmap_[f] iff that list is non-empty, and bit f of
//     fl_bitmap_ iff sl_bitmap_[f] != 0.
//
// Worst-case bounds (the point of TLSF), with a fixed buffer or pools added
// beforehand: allocate = two bit scans for the mapping, at most two masked
// find-first-set on the bitmaps, one list unlink, at most two splits (the
// alignment gap and the tail), each a handful of stores; deallocate = at most
// two merges (two unlinks) and one insert. No loop depends on the number of
// blocks or on the heap size. Alignments above 16 bytes search for
// size + align + 32 so the block found always fits, still O(1). With a parent
// (heapkit::pages by default), a request no pool can serve calls the parent
// once (mmap: not bounded) and an empty pool may be returned to it; for hard
// real time, build over a fixed buffer or add pools with add_pool() up front.
// stats() is not O(1): it walks the highest non-empty list to find the
// largest block. The control block (this object) is about 9 KiB.
#pragma once

#include <heapkit/alloc/pages.hpp>
#include <heapkit/allocator.hpp>
#include <heapkit/detail/boundary_tags.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>

namespace heapkit {

// A TLSF list: first level (power of two) and second level (subdivision).
struct tlsf_class {
    unsigned fl;
    unsigned sl;
    friend constexpr bool operator==(tlsf_class, tlsf_class) noexcept = default;
};

namespace detail {

class tlsf_index {
public:
    static constexpr const char* name = "tlsf";
    static constexpr unsigned sl_log2 = 5;
    static constexpr unsigned sl_count = 1u << sl_log2;  // lists per row
    static constexpr unsigned fl_shift = sl_log2 + 4;    // row 0 covers sizes below 2^fl_shift (granule 16)
    static constexpr std::size_t small_block = std::size_t{1} << fl_shift;
    static constexpr unsigned fl_count = 34;  // blocks stay below 2^42 (boundary_tag_heap's region limit)

    // The list a free block of `size` bytes belongs to.
    static constexpr tlsf_class mapping(std::size_t size) noexcept {
        if (size < small_block) return {0, static_cast<unsigned>(size / tag_block::granule)};
        const unsigned f = static_cast<unsigned>(std::bit_width(size)) - 1;
        return {f - (fl_shift - 1), static_cast<unsigned>(size >> (f - sl_log2)) - sl_count};
    }

    // The first list whose every block holds `size` bytes: size rounded up to the next list start.
    static constexpr tlsf_class mapping_search(std::size_t size) noexcept {
        if (size < small_block) return mapping(align_up(size, tag_block::granule));
        const unsigned f = static_cast<unsigned>(std::bit_width(size)) - 1;
        return mapping(size + (std::size_t{1} << (f - sl_log2)) - 1);
    }

    tlsf_index() noexcept { clear(); }
    tlsf_index(const tlsf_index&) = delete;  // the lists end at this object's null_
    tlsf_index& operator=(const tlsf_index&) = delete;

    // The links are branch-free: every list ends at &null_ (an empty list is
    // a head of &null_), whose links absorb the stores a missing neighbour
    // would get. With nullptr ends, "was the list empty?" on insert and "was
    // b the last?" on remove are coin flips whenever lists hold 0..2 blocks
    // (a small heap under churn) and cost a mispredict each. Clearing the
    // bitmap bits stays a branch: done without one, the bitmap stores depend
    // on b's links on every remove and the next find waits for them.
    void insert(tag_block* b) noexcept {
        const auto [fl, sl] = mapping(b->size());
        tag_block* const head = heads_[fl][sl];
        b->prev_free = &null_;
        b->next_free = head;
        head->prev_free = b;  // null_.prev_free when the list was empty
        heads_[fl][sl] = b;
        sl_bitmap_[fl] |= 1u << sl;
        fl_bitmap_ |= std::uint64_t{1} << fl;
    }

    void remove(tag_block* b) noexcept {
        const auto [fl, sl] = mapping(b->size());
        tag_block* const next = b->next_free;
        tag_block* const prev = b->prev_free;
        prev->next_free = next;  // null_.next_free when b was the head
        next->prev_free = prev;  // null_.prev_free when b was the last
        if (heads_[fl][sl] == b) heads_[fl][sl] = next;
        if (heads_[fl][sl] == &null_) {
            sl_bitmap_[fl] &= ~(1u << sl);
            if (sl_bitmap_[fl] == 0) fl_bitmap_ &= ~(std::uint64_t{1} << fl);
        }
    }

    // O(1): the head of the first non-empty list at or above the good-fit
    // list; failing that, the head of the request's own list if it fits.
    tag_block* find(std::size_t need, std::size_t align) noexcept {
        const std::size_t key = tag_search_size(need, align);
        auto [fl, sl] = mapping_search(key);
        if (fl >= fl_count) return nullptr;
        std::uint32_t sl_map = sl_bitmap_[fl] & (~std::uint32_t{0} << sl);
        if (sl_map == 0) {
            const std::uint64_t fl_map = fl_bitmap_ & (~std::uint64_t{0} << (fl + 1));
            if (fl_map == 0) return own_list_head(key, need, align);
            fl = static_cast<unsigned>(std::countr_zero(fl_map));
            sl_map = sl_bitmap_[fl];
        }
        return heads_[fl][std::countr_zero(sl_map)];
    }

    // The one block good fit passes over that may still serve the request:
    // without this look, the largest free block could never be handed out whole.
    tag_block* own_list_head(std::size_t key, std::size_t need, std::size_t align) const noexcept {
        const auto [fl, sl] = mapping(key);
        tag_block* b = heads_[fl][sl];
        return b != &null_ && tag_fits(b, need, align) ? b : nullptr;
    }

    std::size_t largest() const noexcept {
        if (fl_bitmap_ == 0) return 0;
        const unsigned fl = 63 - static_cast<unsigned>(std::countl_zero(fl_bitmap_));
        const unsigned sl = 31 - static_cast<unsigned>(std::countl_zero(sl_bitmap_[fl]));
        std::size_t m = 0;
        for (const tag_block* b = heads_[fl][sl]; b != &null_; b = b->next_free) m = b->size() > m ? b->size() : m;
        return m;
    }

    void clear() noexcept {
        null_ = tag_block{0, 0, &null_, &null_};
        for (auto& row : heads_)
            for (auto& h : row) h = &null_;
        for (auto& m : sl_bitmap_) m = 0;
        fl_bitmap_ = 0;
    }

private:
    std::uint64_t fl_bitmap_ = 0;                // bit f set iff sl_bitmap_[f] != 0
    std::uint32_t sl_bitmap_[fl_count] = {};     // bit s of row f set iff heads_[f][s] != &null_
    tag_block* heads_[fl_count][sl_count];       // free blocks with mapping(size) == {f, s}; &null_ if none
    tag_block null_;                             // the end of every list (both ends); never handed out
};

}  // namespace detail

// See the top of this file. Constructors: tlsf() takes pools from a
// default-constructed Parent (at least 256 KiB each); tlsf(std::size_t
// pool_bytes) sets that least size; tlsf(std::span<std::byte>) serves from
// the buffer only and never calls the parent. add_pool(span) adds a
// caller's buffer as one more pool (tlsf_add_pool).
template <class Parent = pages>
class tlsf : public detail::boundary_tag_heap<detail::tlsf_index, Parent> {
    using base = detail::boundary_tag_heap<detail::tlsf_index, Parent>;

public:
    using base::base;

    static constexpr unsigned sl_count = detail::tlsf_index::sl_count;

    // The list a free block of `size` bytes is filed in.
    static constexpr tlsf_class mapping(std::size_t size) noexcept { return detail::tlsf_index::mapping(size); }
    // The list a search for a block of `size` bytes starts at (size rounded up to the next list).
    static constexpr tlsf_class mapping_search(std::size_t size) noexcept {
        return detail::tlsf_index::mapping_search(size);
    }
};

static_assert(allocator<tlsf<>> && has_grow<tlsf<>> && has_shrink<tlsf<>> && has_owns<tlsf<>> &&
              has_usable_size<tlsf<>> && has_deallocate_all<tlsf<>> && has_stats<tlsf<>>);

}  // namespace heapkit
