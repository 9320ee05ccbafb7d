// layout: the size and alignment of a block of memory, checked at construction.
//
// A layout is the request an allocator serves: "n bytes at an address that is
// a multiple of a". It is the C++ counterpart of Rust's `core::alloc::Layout`.
//
// Invariants (every layout that exists keeps them):
//   - align() is a power of two, >= 1;
//   - size() rounded up to a multiple of align() does not exceed PTRDIFF_MAX,
//     so pad_to_align() and pointer arithmetic over the block never overflow.
// Construction that would break them fails with a value (std::nullopt), never
// an exception: layout::from, layout::array, extend and align_to all return
// std::optional.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

namespace heapkit {

// True when `a` is a power of two (0 is not).
constexpr bool is_power_of_two(std::size_t a) noexcept { return a != 0 && (a & (a - 1)) == 0; }

// Rounds `n` up to a multiple of `a` (a power of two). The caller ensures no overflow.
constexpr std::size_t align_up(std::size_t n, std::size_t a) noexcept { return (n + a - 1) & ~(a - 1); }

// Rounds `n` down to a multiple of `a` (a power of two).
constexpr std::size_t align_down(std::size_t n, std::size_t a) noexcept { return n & ~(a - 1); }

// True when pointer `p` is a multiple of `a` (a power of two).
inline bool is_aligned(const void* p, std::size_t a) noexcept {
    return (reinterpret_cast<std::uintptr_t>(p) & (a - 1)) == 0;
}

class layout {
public:
    // The largest size any layout may have for alignment `align`.
    static constexpr std::size_t max_size_for(std::size_t align) noexcept {
        return static_cast<std::size_t>(PTRDIFF_MAX) - (align - 1);
    }

    // Checked construction: nullopt when `align` is not a power of two or when
    // `size` rounded up to `align` would exceed PTRDIFF_MAX.
    static constexpr std::optional<layout> from(std::size_t size, std::size_t align) noexcept {
        if (!is_power_of_two(align) || size > max_size_for(align)) return std::nullopt;
        return layout(size, align);
    }

    // Unchecked construction: the caller guarantees the invariants above.
    static constexpr layout from_unchecked(std::size_t size, std::size_t align) noexcept {
        return layout(size, align);
    }

    // The layout of one T.
    template <class T>
    static constexpr layout of() noexcept {
        return layout(sizeof(T), alignof(T));
    }

    // The layout of n contiguous T, nullopt when n * sizeof(T) overflows.
    template <class T>
    static constexpr std::optional<layout> array(std::size_t n) noexcept {
        if (n != 0 && sizeof(T) > max_size_for(alignof(T)) / n) return std::nullopt;
        return layout(n * sizeof(T), alignof(T));
    }

    constexpr std::size_t size() const noexcept { return size_; }
    constexpr std::size_t align() const noexcept { return align_; }

    // This layout with its size rounded up to a multiple of its alignment:
    // the stride of an array of such blocks. Never overflows (see invariants).
    constexpr layout pad_to_align() const noexcept { return layout(align_up(size_, align_), align_); }

    // Bytes of padding needed after this block so that the next address is a multiple of `a`.
    constexpr std::size_t padding_needed_for(std::size_t a) const noexcept {
        return align_up(size_, a) - size_;
    }

    // This layout with alignment raised to at least `a`; nullopt when `a` is
    // not a power of two or the size no longer fits.
    constexpr std::optional<layout> align_to(std::size_t a) const noexcept {
        return from(size_, a > align_ ? a : align_);
    }

    // The layout of this block followed by `next` (as in a C struct), and the
    // offset at which `next` starts. The result's alignment is the larger of
    // the two; its size is not padded at the end (call pad_to_align for that).
    constexpr std::optional<std::pair<layout, std::size_t>> extend(layout next) const noexcept {
        const std::size_t align = align_ > next.align_ ? align_ : next.align_;
        const std::size_t pad = padding_needed_for(next.align_);
        const std::size_t offset = size_ + pad;  // cannot overflow: size_ + pad <= PTRDIFF_MAX
        if (next.size_ > max_size_for(align) || offset > max_size_for(align) - next.size_) return std::nullopt;
        return std::pair{layout(offset + next.size_, align), offset};
    }

    friend constexpr bool operator==(layout, layout) noexcept = default;

private:
    constexpr layout(std::size_t size, std::size_t align) noexcept : size_(size), align_(align) {}

    std::size_t size_;   // bytes requested; align_up(size_, align_) <= PTRDIFF_MAX
    std::size_t align_;  // a power of two
};

}  // namespace heapkit
