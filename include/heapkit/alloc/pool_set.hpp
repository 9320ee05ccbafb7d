// heapkit::pool_set<Parent>: small objects of mixed sizes, one heapkit::pool
// per size class; requests above the largest class go to Parent directly.
//
// Size classes (bytes): 8, 16, 32, 48, 64, then four per doubling
// (80 96 112 128, 160 192 224 256, 320 ... 1024, ... up to 64 KiB), the last
// class being max_small (1024 by default, set at construction):
//
//   request (size, align) ──► s = size rounded up to align
//        s == 0          ──► heapkit::dangling(align), no memory
//        s <= max_small  ──► pools_[class_of(s)]  ──► pool<Parent> of class_size blocks
//        s >  max_small  ──► parent_ (each block its own parent allocation)
//
// Every class is aligned to its largest power-of-two divisor (48 → 16,
// 96 → 32, 128 → 128), so the class that holds s = align_up(size, align) is
// always aligned to `align`: alignment needs no extra code. Waste is bounded:
// a block is less than 16 bytes larger than its request up to 64 bytes, and
// less than 20% larger above.
//
// Invariants: class_of(s) is the smallest class >= s; the same layout (or any
// size between it and the returned block's size) routes to the same place on
// allocate, grow, shrink and deallocate; live_bytes_ is the sum of requested
// sizes of live blocks of all kinds.
//
// Complexity: allocate and deallocate are O(1): a class computed with one
// bit_width, then the pool's fast path. grow and shrink within a class keep
// the pointer; across classes they copy; large to large uses the parent's
// grow/shrink. stats() is O(classes).
//
// Figures: the sum over the pools, plus the large blocks (held_bytes from the
// parent's own stats when it keeps them, else their requested sizes), plus
// the zero-size blocks (in live_blocks only).
#pragma once

#include <heapkit/alloc/pages.hpp>
#include <heapkit/alloc/pool.hpp>
#include <heapkit/allocator.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <optional>

namespace heapkit {

template <allocator Parent = pages>
class pool_set {
public:
    static constexpr std::size_t largest_max_small = std::size_t{64} << 10;  // the largest class there can be
    static constexpr std::size_t max_class_count = 45;                       // classes up to largest_max_small

    // The index of the smallest class of at least `s` bytes, 1 <= s <= largest_max_small.
    static constexpr std::size_t class_of(std::size_t s) noexcept {
        if (s <= 8) return 0;
        if (s <= 64) return (s + 15) >> 4;                                          // 16 32 48 64 → 1 2 3 4
        const std::size_t e = static_cast<std::size_t>(std::bit_width(s - 1)) - 1;  // 2^e < s <= 2^(e+1), e >= 6
        return 5 + (e - 6) * 4 + (((s - 1) >> (e - 2)) & 3);
    }

    // The block size of class `i`.
    static constexpr std::size_t class_size(std::size_t i) noexcept {
        if (i == 0) return 8;
        if (i <= 4) return 16 * i;
        const std::size_t e = 6 + (i - 5) / 4;
        return (std::size_t{1} << e) + ((i - 5) % 4 + 1) * (std::size_t{1} << (e - 2));
    }

    // Classes up to `max_small` (rounded up to a class, clamped to 8..64 KiB).
    explicit pool_set(std::size_t max_small = 1024, pool_options options = {}) noexcept {
        max_small = std::clamp<std::size_t>(max_small, 8, largest_max_small);
        class_count_ = class_of(max_small) + 1;
        max_small_ = class_size(class_count_ - 1);
        for (std::size_t i = 0; i < class_count_; ++i) {
            const std::size_t size = class_size(i);
            pool_options o = options;
            o.first_chunk_bytes = std::max(options.first_chunk_bytes, 8 * size);  // several blocks per chunk
            o.max_chunk_bytes = std::max(options.max_chunk_bytes, o.first_chunk_bytes);
            pools_[i].emplace(size, size & (~size + 1), o);  // aligned to the largest power of two dividing it
        }
    }

    pool_set(const pool_set&) = delete;
    pool_set& operator=(const pool_set&) = delete;

    std::size_t max_small() const noexcept { return max_small_; }
    std::size_t class_count() const noexcept { return class_count_; }
    const pool<Parent>& class_pool(std::size_t i) const noexcept { return *pools_[i]; }
    Parent& parent() noexcept { return parent_; }
    const Parent& parent() const noexcept { return parent_; }

    // The class a layout goes to, or class_count() for a zero-size or large request.
    std::size_t route(layout l) const noexcept {
        const std::size_t s = align_up(l.size(), l.align());
        return s - 1 < max_small_ ? class_of(s) : class_count_;
    }

    memory_block allocate(layout l) noexcept {
        const std::size_t s =
            align_up(l.size(), l.align());  // class sizes are multiples of 8: align <= 8 changes nothing
        if (s - 1 < max_small_) [[likely]] {
            const std::size_t c = class_of(s);
            if (c >= max_class_count) __builtin_unreachable();  // s <= max_small_ <= largest_max_small
            const memory_block b = pools_[c]->allocate(l);
            if (b) live_bytes_ += l.size();
            return b;
        }
        return allocate_slow(l);
    }

    void deallocate(void* p, layout l) noexcept {
        const std::size_t s = align_up(l.size(), l.align());
        peak_bytes_ = std::max(peak_bytes_, live_bytes_);
        live_bytes_ -= l.size();
        if (s - 1 < max_small_) [[likely]] {
            pools_[class_of(s)]->deallocate(p, l);
            return;
        }
        deallocate_slow(p, l);
    }

    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        const std::size_t from = route(old_layout), to = route(new_layout);
        if (from == to && from != class_count_) {
            live_bytes_ += new_layout.size() - old_layout.size();
            return pools_[from]->grow(p, old_layout, new_layout);  // in place: the class fits both
        }
        if (from == class_count_ && to == class_count_ && old_layout.size() != 0) {
            const memory_block b = heapkit::grow(parent_, p, old_layout, new_layout);
            if (b) resize_large(old_layout, new_layout);
            return b;
        }
        return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
    }

    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        const std::size_t from = route(old_layout), to = route(new_layout);
        if (from == to && from != class_count_) {
            peak_bytes_ = std::max(peak_bytes_, live_bytes_);
            live_bytes_ -= old_layout.size() - new_layout.size();
            return pools_[from]->shrink(p, old_layout, new_layout);
        }
        if (from == class_count_ && to == class_count_ && new_layout.size() != 0) {
            const memory_block b = heapkit::shrink(parent_, p, old_layout, new_layout);
            if (b) {
                peak_bytes_ = std::max(peak_bytes_, live_bytes_);
                resize_large(old_layout, new_layout);
            }
            return b;
        }
        return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
    }

    // Small blocks are known to their pools; large ones only to a parent that can tell.
    bool owns(const void* p) const noexcept requires has_owns<Parent> {
        for (std::size_t i = 0; i < class_count_; ++i)
            if (pools_[i]->owns(p)) return true;
        return parent_.owns(p);
    }

    // Frees every block: the pools drop their chunks, the parent its blocks
    // (only a parent that can free everything allows this).
    void deallocate_all() noexcept requires has_deallocate_all<Parent> {
        peak_bytes_ = std::max(peak_bytes_, live_bytes_);
        for (std::size_t i = 0; i < class_count_; ++i) pools_[i]->deallocate_all();
        parent_.deallocate_all();
        live_bytes_ = large_bytes_ = large_blocks_ = zero_blocks_ = 0;
    }

    allocator_stats stats() const noexcept {
        allocator_stats s;
        for (std::size_t i = 0; i < class_count_; ++i) {
            const allocator_stats p = pools_[i]->stats();
            s.live_blocks += p.live_blocks;
            s.held_bytes += p.held_bytes;
            s.slack_bytes += p.slack_bytes;
            s.free_bytes += p.free_bytes;
            s.largest_free = std::max(s.largest_free, p.largest_free);
        }
        std::size_t large_held = large_bytes_;
        if constexpr (has_stats<Parent>) large_held = std::max(parent_.stats().held_bytes, large_bytes_);
        s.live_blocks += large_blocks_ + zero_blocks_;
        s.live_bytes = live_bytes_;
        s.peak_bytes = std::max(peak_bytes_, live_bytes_);
        s.held_bytes += large_held;
        s.slack_bytes += large_held - large_bytes_;
        return s;
    }

private:
    // Zero-size and large requests.
    [[gnu::noinline]] memory_block allocate_slow(layout l) noexcept {
        if (l.size() == 0) {
            ++zero_blocks_;
            return {dangling(l.align()), 0};
        }
        const memory_block b = parent_.allocate(l);
        if (b) {
            live_bytes_ += l.size();
            large_bytes_ += l.size();
            ++large_blocks_;
        }
        return b;
    }

    [[gnu::noinline]] void deallocate_slow(void* p, layout l) noexcept {
        if (l.size() == 0) {
            --zero_blocks_;
            return;
        }
        parent_.deallocate(p, l);
        large_bytes_ -= l.size();
        --large_blocks_;
    }

    void resize_large(layout old_layout, layout new_layout) noexcept {
        live_bytes_ = live_bytes_ - old_layout.size() + new_layout.size();
        large_bytes_ = large_bytes_ - old_layout.size() + new_layout.size();
    }

    std::optional<pool<Parent>> pools_[max_class_count];  // pools_[i] serves class i; engaged for i < class_count_
    std::size_t class_count_ = 0;                         // classes in use, 1..max_class_count
    std::size_t max_small_ = 0;                           // class_size(class_count_ - 1): the largest pooled size
    std::size_t live_bytes_ = 0;                          // sum of requested sizes of live blocks, all kinds
    std::size_t peak_bytes_ = 0;                          // max of live_bytes_ at every decrease
    std::size_t large_bytes_ = 0;                         // requested sizes of live blocks from the parent
    std::size_t large_blocks_ = 0;                        // live blocks from the parent
    std::size_t zero_blocks_ = 0;                         // live zero-size blocks
    [[no_unique_address]] Parent parent_{};
};

static_assert(pool_set<>::class_of(65536) + 1 == pool_set<>::max_class_count);
static_assert(pool_set<>::class_size(pool_set<>::max_class_count - 1) == pool_set<>::largest_max_small);
static_assert(allocator<pool_set<>> && has_grow<pool_set<>> && has_shrink<pool_set<>> && has_stats<pool_set<>>);

}  // namespace heapkit
