// resident_pages: how many OS pages of a range are resident, read with
// mincore(2) — for the tests that check memory goes back to the OS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

namespace heapkit::testing {

// OS pages wholly inside [p, p + n) that are resident (0 when the range is not mapped at all).
inline std::size_t resident_pages(const void* p, std::size_t n) {
    const std::uintptr_t ps = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t first = (a + ps - 1) & ~(ps - 1), last = (a + n) & ~(ps - 1);
    if (last <= first) return 0;
    std::vector<unsigned char> vec((last - first) / ps);
    if (::mincore(reinterpret_cast<void*>(first), last - first, vec.data()) != 0) return 0;  // ENOMEM: unmapped
    std::size_t resident = 0;
    for (unsigned char v : vec) resident += v & 1u;
    return resident;
}

}  // namespace heapkit::testing
