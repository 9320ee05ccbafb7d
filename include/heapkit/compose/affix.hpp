// heapkit::affix<A, Prefix, Suffix>: extra bytes before and after every block,
// holding a Prefix object and a Suffix object the caller never sees.
//
// One block of A carries the caller's block between the two:
//
//   base (from A)                    p (caller's block)
//   │                                │
//   [ padding | Prefix ][ caller's n bytes ][ pad | Suffix ]
//   ◄──── prefix_offset(l) ──────────►◄─ align_up(n, alignof(Suffix)) ─►
//
// p is aligned to max(l.align(), alignof(Prefix), alignof(Suffix)); the Prefix
// ends exactly at p, the Suffix starts at the first suitably aligned address
// at or after p + n. prefix_of(p, l) and suffix_of(p, l) find them.
// Typical affixes: the block's size in a prefix (for a free without a size),
// a canary after the block to catch overruns, a debug tag. Affixes describe
// the block, not the program's state: they are rebuilt from the new layout on
// every grow and shrink (so a reference count does not belong in one).
//
// Prefix and Suffix are types; `void` or an empty type means "none" (no bytes,
// nothing constructed). Otherwise the type must be trivially copyable (blocks
// are moved with memcpy). At allocate, grow and shrink each affix is built in
// place: from the block's layout, T(layout), when T can be, else as T{}. When
// T has `void verify(const void* block, layout) const noexcept` it is called
// before deallocate, grow and shrink touch the block; heapkit::canary (below)
// uses that hook to abort with a clear message when its value was overwritten:
//
//   affix<system, void, canary> a;     // every deallocate checks the canary
//
// Sizes: with a Suffix, the returned block and usable_size are exactly the
// requested size (the Suffix follows it). Without one the caller may use all
// of A's block after the prefix, and still passes back the requested layout.
// A zero-size block with a Prefix and no Suffix still takes one byte of A, so
// p lies inside A's block and A's owns(p) is right. grow/shrink are in place
// when A can resize in place (both affixes are rebuilt for the new layout,
// the Suffix at the new end); a change of alignment that moves p within A's
// block copies.
//
// Invariants: a live block p of layout l was allocated from A as
// {inner_layout(l), at p - prefix_offset(l)} and holds a constructed Prefix at
// p - sizeof(Prefix) and Suffix at p + align_up(l.size(), alignof(Suffix)).
// live_ counts the caller's sizes (relaxed atomics, so
// affix is as thread-safe as A); stats() reports the affix bytes as slack.
// affix is constant-initialisable when A is.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/detail/live_counter.hpp>
#include <heapkit/detail/line_buffer.hpp>
#include <heapkit/error.hpp>

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace heapkit {

// A suffix (or prefix) that detects writes past the end (or before the start)
// of a block: it holds a fixed value and aborts in verify() when the value
// has changed. For affix<A, ..., canary>.
struct canary {
    static constexpr std::uint64_t expected = 0xfeedfacecafebeefULL;
    std::uint64_t value = expected;

    void verify(const void* block, layout l) const noexcept {
        if (value != expected) [[unlikely]] {
            report_slow(block, l);
        }
    }

private:
    [[noreturn, gnu::noinline]] void report_slow(const void* block, layout l) const noexcept {
        detail::line_buffer<400> msg;
        msg.text("affix: canary at ").ptr(this).text(" next to block ").ptr(block).text(" of ").dec(l.size());
        msg.text(" bytes (align ").dec(l.align()).text(") reads ").hex(value).text(", expected ").hex(expected);
        msg.text(
            ": the program wrote outside the block (past its end for a suffix canary, before its start for a "
            "prefix canary); run it under AddressSanitizer to find the write");
        fatal(msg.view());
    }
};

namespace detail {

// Size and alignment of an affix type; void and empty types take no bytes.
template <class T>
struct affix_traits {
    static constexpr bool none = std::is_empty_v<T>;
    static constexpr std::size_t size = none ? 0 : sizeof(T);
    static constexpr std::size_t align = none ? 1 : alignof(T);
};
template <>
struct affix_traits<void> {
    static constexpr bool none = true;
    static constexpr std::size_t size = 0;
    static constexpr std::size_t align = 1;
};

template <class T>
concept affix_verifiable = requires(const T& t, const void* p, layout l) {
    { t.verify(p, l) }
    noexcept;
};

}  // namespace detail

template <allocator A, class Prefix = void, class Suffix = void>
class affix {
    using prefix_traits = detail::affix_traits<Prefix>;
    using suffix_traits = detail::affix_traits<Suffix>;
    static_assert(prefix_traits::none || std::is_trivially_copyable_v<Prefix>,
                  "heapkit::affix<A, Prefix, Suffix>: Prefix must be trivially copyable (blocks move with memcpy)");
    static_assert(suffix_traits::none || std::is_trivially_copyable_v<Suffix>,
                  "heapkit::affix<A, Prefix, Suffix>: Suffix must be trivially copyable (blocks move with memcpy)");

public:
    static constexpr bool has_prefix = !prefix_traits::none;
    static constexpr bool has_suffix = !suffix_traits::none;

    constexpr affix() noexcept = default;
    // Builds the inner allocator from `args`.
    template <class... Args>
    requires(sizeof...(Args) > 0 &&
             std::constructible_from<A, Args...>) constexpr explicit affix(std::in_place_t, Args&&... args) noexcept
        : inner_(static_cast<Args&&>(args)...) {}

    A& inner() noexcept { return inner_; }
    const A& inner() const noexcept { return inner_; }

    // The alignment of A's block and of p for a block of layout l.
    static constexpr std::size_t inner_align(layout l) noexcept {
        return std::max({l.align(), prefix_traits::align, suffix_traits::align});
    }
    // How far p lies from the start of A's block.
    static constexpr std::size_t prefix_offset(layout l) noexcept {
        return align_up(prefix_traits::size, inner_align(l));
    }
    // How far the Suffix lies from p.
    static constexpr std::size_t suffix_offset(layout l) noexcept { return align_up(l.size(), suffix_traits::align); }

    // The layout of A's block for a caller's block of layout l; nullopt when it would be too large.
    static constexpr std::optional<layout> inner_layout(layout l) noexcept {
        const std::size_t off = prefix_offset(l);
        const std::size_t reserve = off + suffix_traits::align + suffix_traits::size;
        if (l.size() > SIZE_MAX - reserve) return std::nullopt;
        std::size_t body = suffix_offset(l) + suffix_traits::size;
        if constexpr (has_prefix && !has_suffix) {
            if (body == 0) body = 1;  // keep p inside A's block
        }
        return layout::from(off + body, inner_align(l));
    }

    // The Prefix of block p (it ends exactly at p).
    static Prefix* prefix_of(void* p, layout) noexcept requires has_prefix {
        return std::launder(reinterpret_cast<Prefix*>(static_cast<char*>(p) - prefix_traits::size));
    }
    static const Prefix* prefix_of(const void* p, layout l) noexcept requires has_prefix {
        return prefix_of(const_cast<void*>(p), l);
    }
    // The Suffix of block p of layout l (just after the caller's bytes).
    static Suffix* suffix_of(void* p, layout l) noexcept requires has_suffix {
        return std::launder(reinterpret_cast<Suffix*>(static_cast<char*>(p) + suffix_offset(l)));
    }
    static const Suffix* suffix_of(const void* p, layout l) noexcept requires has_suffix {
        return suffix_of(const_cast<void*>(p), l);
    }

    memory_block allocate(layout l) noexcept {
        const auto il = inner_layout(l);
        if (!il) return {};
        return count_new(place(inner_.allocate(*il), l), l);
    }

    memory_block allocate_zeroed(layout l) noexcept {
        const auto il = inner_layout(l);
        if (!il) return {};
        return count_new(place(heapkit::allocate_zeroed(inner_, *il), l), l);
    }

    void deallocate(void* p, layout l) noexcept {
        verify(p, l);
        inner_.deallocate(base_of(p, l), *inner_layout(l));
        live_.freed(l.size());
    }

    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        verify(p, old_layout);
        const auto il = inner_layout(new_layout);
        if (!il) return {};
        if (inner_align(old_layout) != inner_align(new_layout)) return move_slow(p, old_layout, new_layout);
        return count_resize(
            place(heapkit::grow(inner_, base_of(p, old_layout), *inner_layout(old_layout), *il), new_layout),
            old_layout, new_layout);
    }

    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        verify(p, old_layout);
        const auto il = inner_layout(new_layout);
        if (!il) return {};
        if (inner_align(old_layout) != inner_align(new_layout)) return move_slow(p, old_layout, new_layout);
        return count_resize(
            place(heapkit::shrink(inner_, base_of(p, old_layout), *inner_layout(old_layout), *il), new_layout),
            old_layout, new_layout);
    }

    bool owns(const void* p) const noexcept requires has_owns<A> { return inner_.owns(p); }

    // With a Suffix exactly l.size(); without one, what A's block has after the prefix.
    std::size_t usable_size(const void* p, layout l) const noexcept {
        if constexpr (has_suffix) {
            return l.size();
        } else {
            const std::size_t off = prefix_offset(l);
            return heapkit::usable_size(inner_, base_of(const_cast<void*>(p), l), *inner_layout(l)) - off;
        }
    }

    void deallocate_all() noexcept requires has_deallocate_all<A> {
        inner_.deallocate_all();
        live_.reset();
    }

    // The caller's live bytes and blocks; A's other figures, with the affix bytes added to slack.
    allocator_stats stats() const noexcept {
        allocator_stats s = heapkit::stats(inner_);
        const std::size_t inner_live = s.live_bytes;
        live_.fill(s);
        if (inner_live > s.live_bytes) s.slack_bytes += inner_live - s.live_bytes;
        return s;
    }

private:
    static char* base_of(void* p, layout l) noexcept { return static_cast<char*>(p) - prefix_offset(l); }

    template <class T>
    static void construct(void* where, layout l) noexcept {
        if constexpr (std::constructible_from<T, layout>) {
            ::new (where) T(l);
        } else {
            ::new (where) T{};
        }
    }

    // Builds the affixes around the caller's block inside A's block b; the caller's view of it.
    static memory_block place(memory_block b, layout l) noexcept {
        if (!b) return b;
        const std::size_t off = prefix_offset(l);
        char* p = static_cast<char*>(b.ptr) + off;
        if constexpr (has_prefix) construct<Prefix>(p - prefix_traits::size, l);
        if constexpr (has_suffix) {
            construct<Suffix>(p + suffix_offset(l), l);
            return {p, l.size()};
        } else {
            return {p, b.size - off};
        }
    }

    // Runs the affixes' verify hooks, if they have them.
    static void verify(const void* p, layout l) noexcept {
        if constexpr (has_prefix && detail::affix_verifiable<Prefix>) prefix_of(p, l)->verify(p, l);
        if constexpr (has_suffix && detail::affix_verifiable<Suffix>) suffix_of(p, l)->verify(p, l);
    }

    // The alignment changes where p sits in A's block: allocate anew, copy, free.
    memory_block move_slow(void* p, layout old_layout, layout new_layout) noexcept {
        return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
    }

    memory_block count_new(memory_block b, layout l) noexcept {
        if (b) live_.allocated(l.size());
        return b;
    }
    memory_block count_resize(memory_block b, layout old_layout, layout new_layout) noexcept {
        if (b) live_.resized(old_layout.size(), new_layout.size());
        return b;
    }

    [[no_unique_address]] A inner_{};
    detail::live_counter live_;  // the callers' requested sizes
};

}  // namespace heapkit
