// Size classes of heapkit malloc: which block size serves a request.
//
// Every block is a multiple of 16 bytes, so every block is 16-aligned when its
// page starts 16-aligned (malloc's guarantee on x86-64 for every size).
//
//   class   0..7    16, 32, 48, ... 128           step 16
//   class   8..15   144, 160, ... 256             step 16   (8 classes per power of two)
//   class  16..23   288, 320, ... 512             step 32
//   ...             (2^k, 2^(k+1)] in 8 steps of 2^(k-3)
//   class 103       512 KiB (the largest class; larger blocks are mapped directly)
//
// Worst-case waste (block size - request) / request:
//   - requests 1..128 B:   at most 15 bytes (a 1-byte request gets 16 bytes; 17 gets 32);
//   - requests > 128 B:    at most step - 1 bytes over a request of 2^k + 1, i.e.
//                          (2^(k-3) - 1) / (2^k + 1) < 1/8 = 12.5%.
// Classes 0..55 (<= 8 KiB) live in 64 KiB small pages, 56..87 (<= 128 KiB) in
// 1 MiB medium pages, 88..103 (<= 512 KiB) in 4 MiB large pages (one per segment).
//
// Invariants: class_size is strictly increasing; class_size(class_of(n)) >= n
// for 0 <= n <= max_class_size; class_of is monotonic.
#pragma once

#include <cstddef>
#include <cstdint>

namespace heapkit::hkmalloc {

inline constexpr std::size_t min_block = 16;
inline constexpr std::size_t small_max = 8 * 1024;         // largest block in a small (64 KiB) page
inline constexpr std::size_t medium_max = 128 * 1024;      // largest block in a medium (1 MiB) page
inline constexpr std::size_t max_class_size = 512 * 1024;  // largest class; above: huge (mapped directly)
inline constexpr unsigned class_count = 104;

// The class of a request of n bytes (n <= max_class_size), computed.
constexpr unsigned class_of_computed(std::size_t n) noexcept {
    if (n <= 128) return n == 0 ? 0u : static_cast<unsigned>((n + 15) / 16 - 1);
    const std::size_t m = n - 1;
    const unsigned k = 63u - static_cast<unsigned>(__builtin_clzll(m));  // m in [2^k, 2^(k+1))
    const unsigned idx = static_cast<unsigned>((m >> (k - 3)) & 7);
    return 8 + (k - 7) * 8 + idx;
}

// The block size of class c.
constexpr std::size_t class_size(unsigned c) noexcept {
    if (c < 8) return 16 * (std::size_t{c} + 1);
    const unsigned k = 7 + (c - 8) / 8, idx = (c - 8) % 8;
    return (std::size_t{1} << k) + ((std::size_t{idx} + 1) << (k - 3));
}

// Requests up to direct_max bytes find their page in one load: the heap keeps
// a page pointer per 16-byte step (heap::direct, indexed by (n + 15) / 16),
// each a copy of current[] of that step's class.
inline constexpr std::size_t direct_max = 1024;
inline constexpr unsigned direct_count = direct_max / 16 + 1;
inline constexpr unsigned direct_classes = class_of_computed(direct_max) + 1;  // classes with direct entries

struct class_table {
    std::uint8_t by_16[direct_count];  // class of sizes up to 1 KiB, indexed by (n + 15) / 16
    std::uint8_t
        direct_first[direct_classes + 1];  // class c owns direct entries [direct_first[c], direct_first[c + 1])
    std::uint32_t size[class_count];
};

constexpr class_table make_class_table() noexcept {
    class_table t{};
    for (std::size_t i = 0; i < direct_count; ++i) t.by_16[i] = static_cast<std::uint8_t>(class_of_computed(i * 16));
    for (unsigned c = 0, i = 0; c <= direct_classes; ++c) {
        while (i < direct_count && t.by_16[i] < c) ++i;
        t.direct_first[c] = static_cast<std::uint8_t>(i);
    }
    for (unsigned c = 0; c < class_count; ++c) t.size[c] = static_cast<std::uint32_t>(class_size(c));
    return t;
}

inline constexpr class_table classes = make_class_table();

static_assert(class_of_computed(max_class_size) == class_count - 1);
static_assert(class_size(class_count - 1) == max_class_size);
static_assert(class_size(55) == small_max && class_size(87) == medium_max);
static_assert(classes.direct_first[0] == 0 && classes.direct_first[direct_classes] == direct_count);

// The class of a request of n bytes (n <= max_class_size): a table lookup up to 1 KiB.
inline unsigned class_of(std::size_t n) noexcept {
    if (n <= direct_max) return classes.by_16[(n + 15) >> 4];
    return class_of_computed(n);
}

}  // namespace heapkit::hkmalloc
