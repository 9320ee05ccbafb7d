// The allocator concept: what every heapkit allocator provides, what it may
// provide, and free functions that use a capability where an allocator has
// it and a correct generic fallback where it does not.
//
// Required (the `allocator` concept):
//   memory_block allocate(layout) noexcept;      // {nullptr, 0} when out of memory
//   void deallocate(void* p, layout) noexcept;   // p from allocate/grow/shrink of this allocator
//
// Optional capabilities, each detected by its own concept:
//   memory_block allocate_zeroed(layout) noexcept;            // memory reads as zero
//   memory_block grow(void* p, layout old, layout n) noexcept;   // n.size() >= old.size(), data kept
//   memory_block shrink(void* p, layout old, layout n) noexcept; // n.size() <= old.size(), data kept
//   bool owns(const void* p) const noexcept;                  // p lies in a block of this allocator
//   std::size_t usable_size(const void* p, layout) const noexcept; // bytes usable at p (>= layout size)
//   void deallocate_all() noexcept;                           // frees every block at once
//   allocator_stats stats() const noexcept;                   // see below
//
// The contract every allocator keeps (the conformance suite checks it):
//   - a block is aligned to its layout's alignment, for any alignment up to
//     at least the page size;
//   - a zero-size request is legal and returns a non-null, suitably aligned
//     pointer that must not be dereferenced and is passed back to deallocate;
//   - deallocate, grow and shrink receive the layout the block was last
//     allocated (or grown/shrunk) with: the requested size and alignment, not
//     the (possibly larger) size of the returned memory_block. Allocators keep
//     their figures in requested bytes, and wrappers hand their parents back
//     exactly what they asked for;
//   - out of memory is a value ({nullptr, 0}), never an exception; a failed
//     grow or shrink leaves the old block valid and unchanged.
#pragma once

#include <heapkit/layout.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstring>

namespace heapkit {

// What an allocator hands out: where the block starts and how many bytes it
// really has (>= the requested size). An empty block ({nullptr, 0}) is failure.
struct memory_block {
    void* ptr = nullptr;
    std::size_t size = 0;

    constexpr explicit operator bool() const noexcept { return ptr != nullptr; }
    friend constexpr bool operator==(const memory_block&, const memory_block&) noexcept = default;
};

// Figures an allocator reports about itself. Fields an allocator does not
// track stay zero.
struct allocator_stats {
    std::size_t live_bytes = 0;      // bytes requested by blocks not yet freed
    std::size_t live_blocks = 0;     // blocks not yet freed
    std::size_t peak_bytes = 0;      // the largest live_bytes seen (>= live_bytes)
    std::size_t held_bytes = 0;      // bytes this allocator holds from its parent or the OS
    std::size_t slack_bytes = 0;     // bytes handed out beyond the requested sizes (internal waste)
    std::size_t free_bytes = 0;      // free bytes kept for reuse (where the allocator keeps free space)
    std::size_t largest_free = 0;    // the largest free block among them (<= free_bytes)

    // Slack inside handed-out blocks, as a fraction of what they occupy.
    double internal_fragmentation() const noexcept {
        const double used = static_cast<double>(live_bytes + slack_bytes);
        return used == 0 ? 0.0 : static_cast<double>(slack_bytes) / used;
    }
    // 1 - largest free block / total free bytes; 0 when nothing is free.
    double external_fragmentation() const noexcept {
        return free_bytes == 0 ? 0.0
                               : 1.0 - static_cast<double>(largest_free) / static_cast<double>(free_bytes);
    }
};

template <class A>
concept allocator = requires(A& a, void* p, layout l) {
    { a.allocate(l) } noexcept -> std::same_as<memory_block>;
    { a.deallocate(p, l) } noexcept;
};

template <class A>
concept has_allocate_zeroed = allocator<A> && requires(A& a, layout l) {
    { a.allocate_zeroed(l) } noexcept -> std::same_as<memory_block>;
};
template <class A>
concept has_grow = allocator<A> && requires(A& a, void* p, layout l) {
    { a.grow(p, l, l) } noexcept -> std::same_as<memory_block>;
};
template <class A>
concept has_shrink = allocator<A> && requires(A& a, void* p, layout l) {
    { a.shrink(p, l, l) } noexcept -> std::same_as<memory_block>;
};
template <class A>
concept has_owns = allocator<A> && requires(const A& a, const void* p) {
    { a.owns(p) } noexcept -> std::same_as<bool>;
};
template <class A>
concept has_usable_size = allocator<A> && requires(const A& a, const void* p, layout l) {
    { a.usable_size(p, l) } noexcept -> std::same_as<std::size_t>;
};
template <class A>
concept has_deallocate_all = allocator<A> && requires(A& a) {
    { a.deallocate_all() } noexcept;
};
template <class A>
concept has_stats = allocator<A> && requires(const A& a) {
    { a.stats() } noexcept -> std::same_as<allocator_stats>;
};

// ---- free functions: the capability if present, a generic fallback if not ----

template <allocator A>
memory_block allocate_zeroed(A& a, layout l) noexcept {
    if constexpr (has_allocate_zeroed<A>) {
        return a.allocate_zeroed(l);
    } else {
        memory_block b = a.allocate(l);
        if (b) std::memset(b.ptr, 0, l.size());
        return b;
    }
}

namespace detail {
// Moves a block from one allocator to another: allocate `new_layout` in `to`,
// copy what fits, free the old block in `from`. On failure the old block is
// untouched. Wrappers use it to move blocks between their parts.
template <allocator From, allocator To>
memory_block move_block(From& from, To& to, void* p, layout old_layout, layout new_layout) noexcept {
    memory_block b = to.allocate(new_layout);
    if (!b) return b;
    std::memcpy(b.ptr, p, std::min(old_layout.size(), new_layout.size()));
    from.deallocate(p, old_layout);
    return b;
}

// Moves a block within one allocator: the fallback of grow and shrink.
template <allocator A>
memory_block reallocate_by_copy(A& a, void* p, layout old_layout, layout new_layout) noexcept {
    return move_block(a, a, p, old_layout, new_layout);
}
}  // namespace detail

// Grows the block at p from old_layout to new_layout (new size >= old size),
// keeping its contents. On failure returns {nullptr, 0} and p stays valid.
template <allocator A>
memory_block grow(A& a, void* p, layout old_layout, layout new_layout) noexcept {
    if constexpr (has_grow<A>) {
        return a.grow(p, old_layout, new_layout);
    } else {
        return detail::reallocate_by_copy(a, p, old_layout, new_layout);
    }
}

// As grow, with the new bytes (from old size to new size) set to zero.
template <allocator A>
memory_block grow_zeroed(A& a, void* p, layout old_layout, layout new_layout) noexcept {
    memory_block b = grow(a, p, old_layout, new_layout);
    if (b) std::memset(static_cast<char*>(b.ptr) + old_layout.size(), 0, new_layout.size() - old_layout.size());
    return b;
}

// Shrinks the block at p to new_layout (new size <= old size), keeping the
// first new size bytes. On failure returns {nullptr, 0} and p stays valid.
template <allocator A>
memory_block shrink(A& a, void* p, layout old_layout, layout new_layout) noexcept {
    if constexpr (has_shrink<A>) {
        return a.shrink(p, old_layout, new_layout);
    } else {
        return detail::reallocate_by_copy(a, p, old_layout, new_layout);
    }
}

// Grows or shrinks, whichever the sizes call for.
template <allocator A>
memory_block reallocate(A& a, void* p, layout old_layout, layout new_layout) noexcept {
    if (new_layout.size() >= old_layout.size()) return grow(a, p, old_layout, new_layout);
    return shrink(a, p, old_layout, new_layout);
}

// Bytes usable at p; the layout's size when the allocator cannot tell more.
template <allocator A>
std::size_t usable_size(const A& a, const void* p, layout l) noexcept {
    if constexpr (has_usable_size<A>) {
        return a.usable_size(p, l);
    } else {
        return l.size();
    }
}

// The allocator's figures; all zero for an allocator that keeps none.
template <allocator A>
allocator_stats stats(const A& a) noexcept {
    if constexpr (has_stats<A>) {
        return a.stats();
    } else {
        return {};
    }
}

// A placeholder pointer for zero-size blocks: non-null, aligned to `align`,
// never dereferenced (Rust's NonNull::dangling). Allocators that do not hand
// out real storage for size 0 return this and ignore it in deallocate.
inline void* dangling(std::size_t align) noexcept { return reinterpret_cast<void*>(align); }

}  // namespace heapkit
