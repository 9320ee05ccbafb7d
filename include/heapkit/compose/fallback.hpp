// heapkit::fallback<Primary, Secondary>: serve a request from Primary, and
// from Secondary when Primary cannot.
//
//   allocate(l) ──► Primary.allocate(l) ──ok──► block
//                        │ empty
//                        ▼
//                   Secondary.allocate(l) ───► block (or empty: out of memory)
//
//   deallocate / grow / shrink / usable_size(p):
//        Primary.owns(p) ? Primary : Secondary
//
// The typical use puts a small, fast allocator over a fixed buffer in front of
// a general one: fallback<fixed stack buffer, system>. Primary must have
// owns(p) (a static_assert says so): it is how every later call on a block
// finds the allocator that made it. Secondary needs no owns; fallback has
// owns(p) itself when Secondary has it too (owns = either owns).
//
// grow: Primary's blocks grow in Primary when it can (in place or by a copy
// inside Primary); when Primary cannot, the block moves to Secondary (allocate
// there, copy, free in Primary). A failed grow leaves the block where it was.
// shrink does the same. Secondary's blocks stay in Secondary.
//
// Zero-size placeholders: an allocator may answer a zero-size request with
// heapkit::dangling(align), not claim it in owns() and expect it back in
// deallocate (bump, pool and buddy count such blocks). fallback notes when
// Primary has handed one out (one relaxed atomic flag) and sends an unclaimed
// zero-size dangling(align) pointer to Primary if so, to Secondary otherwise.
// So fallback<pool, system> never passes a placeholder to free(), and
// fallback<fixed buffer, pages> returns pages' placeholders to pages. (Only
// when both parts make placeholders can one reach the wrong part; both ignore
// them, so at most a zero-size block is miscounted.)
//
// Invariants: every live block was made by exactly one part, and
// Primary.owns(p) is true for those made by Primary, except placeholders;
// primary_placeholders_ is set once Primary has returned a placeholder;
// stats() (when both parts keep figures) is their sum (see
// detail/combined_stats.hpp). fallback is constant-initialisable when its
// parts are, trivially destructible when they are, and as thread-safe as they are.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/detail/combined_stats.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <tuple>
#include <utility>

namespace heapkit {

template <allocator Primary, allocator Secondary>
class fallback {
    static_assert(has_owns<Primary>,
                  "heapkit::fallback<Primary, Secondary>: Primary must provide "
                  "`bool owns(const void*) const noexcept`, which routes deallocate, grow, shrink and "
                  "usable_size to the part that made the block; put an allocator with owns() first");

public:
    constexpr fallback() noexcept = default;
    // Builds Primary from the elements of `p` and Secondary from those of `s` (as std::pair does).
    template <class... PArgs, class... SArgs>
    constexpr fallback(std::piecewise_construct_t, std::tuple<PArgs...> p, std::tuple<SArgs...> s) noexcept
        : primary_(std::make_from_tuple<Primary>(std::move(p))),
          secondary_(std::make_from_tuple<Secondary>(std::move(s))) {}

    Primary& primary() noexcept { return primary_; }
    const Primary& primary() const noexcept { return primary_; }
    Secondary& secondary() noexcept { return secondary_; }
    const Secondary& secondary() const noexcept { return secondary_; }

    memory_block allocate(layout l) noexcept {
        memory_block b = primary_.allocate(l);
        if (b) return note_placeholder(b, l);
        return secondary_.allocate(l);
    }

    memory_block allocate_zeroed(layout l) noexcept {
        memory_block b = heapkit::allocate_zeroed(primary_, l);
        if (b) return note_placeholder(b, l);
        return heapkit::allocate_zeroed(secondary_, l);
    }

    void deallocate(void* p, layout l) noexcept {
        if (is_primarys(p, l)) {
            primary_.deallocate(p, l);
        } else {
            secondary_.deallocate(p, l);
        }
    }

    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        if (is_primarys(p, old_layout)) {
            memory_block b = heapkit::grow(primary_, p, old_layout, new_layout);
            return b ? note_placeholder(b, new_layout) : move_to_secondary_slow(p, old_layout, new_layout);
        }
        return heapkit::grow(secondary_, p, old_layout, new_layout);
    }

    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        if (is_primarys(p, old_layout)) {
            memory_block b = heapkit::shrink(primary_, p, old_layout, new_layout);
            return b ? note_placeholder(b, new_layout) : move_to_secondary_slow(p, old_layout, new_layout);
        }
        return heapkit::shrink(secondary_, p, old_layout, new_layout);
    }

    bool owns(const void* p) const noexcept requires has_owns<Secondary> {
        return primary_.owns(p) || secondary_.owns(p);
    }

    std::size_t usable_size(const void* p, layout l) const noexcept {
        if (is_primarys(p, l)) return heapkit::usable_size(primary_, p, l);
        return heapkit::usable_size(secondary_, p, l);
    }

    void deallocate_all() noexcept requires has_deallocate_all<Primary> && has_deallocate_all<Secondary> {
        primary_.deallocate_all();
        secondary_.deallocate_all();
    }

    // The sum of both parts' figures (only when both keep them: a partial sum would mislead).
    allocator_stats stats() const noexcept requires has_stats<Primary> && has_stats<Secondary> {
        return detail::combined_stats(primary_.stats(), secondary_.stats());
    }

private:
    static bool is_placeholder(const void* p, layout l) noexcept { return l.size() == 0 && p == dangling(l.align()); }

    // True when the block at p was made by Primary (see "Zero-size placeholders" above).
    bool is_primarys(const void* p, layout l) const noexcept {
        if (primary_.owns(p)) return true;
        return is_placeholder(p, l) && primary_placeholders_.load(std::memory_order_relaxed);
    }

    // Remembers that Primary hands out placeholders when b, its answer to l, is one.
    memory_block note_placeholder(memory_block b, layout l) noexcept {
        if (is_placeholder(b.ptr, l) && !primary_placeholders_.load(std::memory_order_relaxed)) [[unlikely]] {
            primary_placeholders_.store(true, std::memory_order_relaxed);
        }
        return b;
    }

    // Primary could not resize its block: move it to Secondary. On failure the block stays in Primary, intact.
    memory_block move_to_secondary_slow(void* p, layout old_layout, layout new_layout) noexcept {
        return detail::move_block(primary_, secondary_, p, old_layout, new_layout);
    }

    [[no_unique_address]] Primary primary_{};
    [[no_unique_address]] Secondary secondary_{};
    std::atomic<bool> primary_placeholders_{false};  // set once Primary has returned a placeholder
};

}  // namespace heapkit
