// pattern: the byte pattern the tests write into blocks and check again, so
// a block that overlaps another or loses data is seen.
#pragma once

#include <cstddef>

namespace heapkit::testing {

// A byte that depends on the block (seed) and the offset.
inline unsigned char pattern(std::size_t seed, std::size_t i) noexcept {
    return static_cast<unsigned char>((seed * 131 + i * 7 + (i >> 8)) & 0xff);
}
inline void fill(void* p, std::size_t n, std::size_t seed) noexcept {
    auto* b = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) b[i] = pattern(seed, i);
}
// The index of the first byte that differs from the pattern, or n.
inline std::size_t first_mismatch(const void* p, std::size_t n, std::size_t seed) noexcept {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        if (b[i] != pattern(seed, i)) return i;
    return n;
}

// A block and the seed of the pattern it holds, for tests that hand blocks between threads.
struct patterned {
    unsigned char* p;
    std::size_t n;
    unsigned char seed;
};
inline void fill(const patterned& b) noexcept { fill(b.p, b.n, b.seed); }
inline bool intact(const patterned& b) noexcept { return first_mismatch(b.p, b.n, b.seed) == b.n; }

}  // namespace heapkit::testing
