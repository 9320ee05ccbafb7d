// heapkit::null: the allocator that has no memory. Every allocation fails
// (returns {nullptr, 0}); deallocate has nothing to free and is never legally
// called with a pointer (it accepts the zero-size placeholder and ignores it).
// The NullAllocator of the post: register it globally to see who allocates.
#pragma once

#include <heapkit/allocator.hpp>

namespace heapkit {

class null {
public:
    constexpr null() noexcept = default;
    memory_block allocate(layout) noexcept { return {}; }
    void deallocate(void*, layout) noexcept {}
    bool owns(const void*) const noexcept { return false; }
    allocator_stats stats() const noexcept { return {}; }
};

static_assert(allocator<null>);

}  // namespace heapkit
