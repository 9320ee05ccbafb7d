// heapkit::segregator<Threshold, Small, Large>: small requests to one
// allocator, the rest to another, chosen by size alone.
//
//   size <= Threshold ──► Small      (e.g. a pool or free list of small blocks)
//   size >  Threshold ──► Large      (e.g. pages, or the system)
//
// The block's layout carries its size to every later call, so deallocate,
// grow, shrink and usable_size route by the layout's size too: no owns is
// needed and no header is stored. For that to hold, the size a caller passes
// back must stay on the same side of the threshold as the request, so a
// block from Small is reported as at most Threshold bytes long (the
// memory_block size and usable_size are clamped to Threshold).
//
// grow and shrink within one side stay with that side (in place when it can).
// Across the threshold they move the block between the parts: grow from
// <= Threshold to > Threshold allocates in Large, copies and frees in Small;
// shrink the other way moves it back to Small. A failed move leaves the block
// where it was, intact.
//
// Segregators nest into a size-class tree:
//   segregator<128, pool, segregator<4096, free_list, pages>>
//
// Invariants: a live block of size s (as last allocated, grown or shrunk)
// belongs to Small iff s <= Threshold; Small's blocks are reported as at most
// Threshold bytes. segregator keeps no state: it is constant-initialisable
// when its parts are, and as thread-safe as they are.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/detail/combined_stats.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <tuple>
#include <utility>

namespace heapkit {

template <std::size_t Threshold, allocator Small, allocator Large>
class segregator {
public:
    static constexpr std::size_t threshold = Threshold;

    constexpr segregator() noexcept = default;
    // Builds Small from the elements of `s` and Large from those of `l` (as std::pair does).
    template <class... SArgs, class... LArgs>
    constexpr segregator(std::piecewise_construct_t, std::tuple<SArgs...> s, std::tuple<LArgs...> l) noexcept
        : small_(std::make_from_tuple<Small>(std::move(s))), large_(std::make_from_tuple<Large>(std::move(l))) {}

    Small& small() noexcept { return small_; }
    const Small& small() const noexcept { return small_; }
    Large& large() noexcept { return large_; }
    const Large& large() const noexcept { return large_; }

    // True when blocks of `size` bytes go to Small.
    static constexpr bool is_small(std::size_t size) noexcept { return size <= Threshold; }

    memory_block allocate(layout l) noexcept {
        return is_small(l.size()) ? clamp(small_.allocate(l)) : large_.allocate(l);
    }

    memory_block allocate_zeroed(layout l) noexcept {
        return is_small(l.size()) ? clamp(heapkit::allocate_zeroed(small_, l)) : heapkit::allocate_zeroed(large_, l);
    }

    void deallocate(void* p, layout l) noexcept {
        if (is_small(l.size())) {
            small_.deallocate(p, l);
        } else {
            large_.deallocate(p, l);
        }
    }

    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        if (is_small(new_layout.size())) return clamp(heapkit::grow(small_, p, old_layout, new_layout));
        if (!is_small(old_layout.size())) return heapkit::grow(large_, p, old_layout, new_layout);
        return move_slow(small_, large_, p, old_layout, new_layout);
    }

    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        if (!is_small(new_layout.size())) return heapkit::shrink(large_, p, old_layout, new_layout);
        if (is_small(old_layout.size())) return clamp(heapkit::shrink(small_, p, old_layout, new_layout));
        return clamp(move_slow(large_, small_, p, old_layout, new_layout));
    }

    // Either part owns p (a pointer carries no size, so both are asked).
    bool owns(const void* p) const noexcept requires has_owns<Small> && has_owns<Large> {
        return small_.owns(p) || large_.owns(p);
    }

    std::size_t usable_size(const void* p, layout l) const noexcept {
        if (is_small(l.size())) return std::min(heapkit::usable_size(small_, p, l), Threshold);
        return heapkit::usable_size(large_, p, l);
    }

    void deallocate_all() noexcept requires has_deallocate_all<Small> && has_deallocate_all<Large> {
        small_.deallocate_all();
        large_.deallocate_all();
    }

    // The sum of both parts' figures (only when both keep them).
    allocator_stats stats() const noexcept requires has_stats<Small> && has_stats<Large> {
        return detail::combined_stats(small_.stats(), large_.stats());
    }

private:
    // A block from Small is at most Threshold bytes as far as the caller knows.
    static constexpr memory_block clamp(memory_block b) noexcept {
        if (b.size > Threshold) b.size = Threshold;
        return b;
    }

    // Moves a block across the threshold: allocate in `to`, copy, free in `from`.
    template <class From, class To>
    static memory_block move_slow(From& from, To& to, void* p, layout old_layout, layout new_layout) noexcept {
        return detail::move_block(from, to, p, old_layout, new_layout);
    }

    [[no_unique_address]] Small small_{};
    [[no_unique_address]] Large large_{};
};

}  // namespace heapkit
