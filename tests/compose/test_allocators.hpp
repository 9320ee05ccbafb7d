// Small allocators for the composition tests (fallback, segregator,
// bucketizer, locked, affix) and the compose fuzz target.
//
// fixed_buffer<Capacity>: a bump allocator over a buffer inside the object.
//
//   buf_ [ block | block | block |      free      ]
//          ^last_         ^top_ ... Capacity
//
// It frees in stack order only (freeing the last block moves top_ back) and
// starts over when no block is live; it grows and shrinks the last block in
// place. It has owns(), stats() and deallocate_all(), runs out quickly, and
// is deliberately not thread-safe (locked_threads_test wraps it in locked<>).
// A zero-size request still takes one byte, so owns() recognises the block.
//
// Invariants: last_ <= top_ <= Capacity; live_bytes_ is the sum of the
// requested sizes of live blocks; live_blocks_ == 0 implies top_ == 0.
#pragma once

#include <heapkit/allocator.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace heapkit::testing {

template <std::size_t Capacity>
class fixed_buffer {
public:
    static constexpr std::size_t capacity = Capacity;

    constexpr fixed_buffer() noexcept = default;
    fixed_buffer(const fixed_buffer&) = delete;  // blocks point into this object
    fixed_buffer& operator=(const fixed_buffer&) = delete;

    memory_block allocate(layout l) noexcept {
        const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(buf_);
        const std::uintptr_t start = align_up(base + top_, l.align());
        if (start < base) return {};  // the alignment wrapped around
        const std::size_t offset = start - base;
        const std::size_t n = std::max<std::size_t>(l.size(), 1);
        if (offset > Capacity || n > Capacity - offset) return {};
        last_ = offset;
        top_ = offset + n;
        ++live_blocks_;
        add_live(l.size());
        return {buf_ + offset, n};
    }

    void deallocate(void* p, layout l) noexcept {
        live_bytes_ -= l.size();
        --live_blocks_;
        if (live_blocks_ == 0) {
            top_ = last_ = 0;
        } else if (p == buf_ + last_) {
            top_ = last_;  // the block below is unknown: only one step back
        }
    }

    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        const std::size_t n = std::max<std::size_t>(new_layout.size(), 1);
        if (p == buf_ + last_ && is_aligned(p, new_layout.align()) && n <= Capacity - last_) {
            top_ = last_ + n;
            live_bytes_ -= old_layout.size();
            add_live(new_layout.size());
            return {p, n};
        }
        return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
    }

    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        if (!is_aligned(p, new_layout.align())) return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
        const std::size_t n = std::max<std::size_t>(new_layout.size(), 1);
        if (p == buf_ + last_) top_ = last_ + n;
        live_bytes_ -= old_layout.size();
        live_bytes_ += new_layout.size();
        return {p, n};
    }

    bool owns(const void* p) const noexcept {
        const auto* c = static_cast<const std::byte*>(p);
        return c >= buf_ && c < buf_ + Capacity;
    }

    void deallocate_all() noexcept {
        top_ = last_ = 0;
        live_bytes_ = live_blocks_ = 0;
    }

    allocator_stats stats() const noexcept {
        allocator_stats s;
        s.live_bytes = live_bytes_;
        s.live_blocks = live_blocks_;
        s.peak_bytes = peak_bytes_;
        s.held_bytes = Capacity;
        s.free_bytes = Capacity - top_;
        s.largest_free = Capacity - top_;
        return s;
    }

private:
    void add_live(std::size_t n) noexcept {
        live_bytes_ += n;
        peak_bytes_ = std::max(peak_bytes_, live_bytes_);
    }

    alignas(4096) std::byte buf_[Capacity];  // blocks are carved from here
    std::size_t top_ = 0;                    // <= Capacity; everything from here on is free
    std::size_t last_ = 0;                   // <= top_; where the most recent block starts
    std::size_t live_bytes_ = 0;             // sum of the requested sizes of live blocks
    std::size_t live_blocks_ = 0;            // live blocks
    std::size_t peak_bytes_ = 0;             // >= every value live_bytes_ had
};

static_assert(has_owns<fixed_buffer<64>> && has_stats<fixed_buffer<64>> && has_deallocate_all<fixed_buffer<64>>);

}  // namespace heapkit::testing
