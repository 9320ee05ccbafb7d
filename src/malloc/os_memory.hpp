// os_memory: where heapkit malloc gets address space from the OS, and what it
// does when the OS refuses (address-space limit, vm.overcommit_memory=2, a
// full map count, any mmap failure).
//
//   os_map(size, align) ──► platform map (size + align reserved, ends trimmed)
//        │ refused          ──► tight map: size bytes at an align-aligned address
//        │                      (mmap of size, then MAP_FIXED_NOREPLACE at aligned
//        │                      addresses next to where the kernel put it)
//        │ refused          ──► heap_oom_reclaim(): the heap layer gives back what it
//        │                      holds (empty segments, the huge-block cache, the
//        │                      abandoned pool) and asks other threads to do the same
//        └ retried while the reclaim released something; then nullptr, errno = ENOMEM
//
// Every mapping heapkit malloc makes for its own use goes through here
// (segments, huge blocks, the registry, heap structs), so the recovery is one
// path, not a special case per caller. In the test build
// (HEAPKIT_MALLOC_TESTING) a hook may refuse any request, which lets tests
// inject failures where no real limit can be set.
//
// Invariants: a call that returns memory leaves errno as it found it; a call
// that fails sets errno = ENOMEM. heap_oom_reclaim is never entered twice on
// one thread (a mapping made during a reclaim is not recovered again), and is
// never called with g_pool_lock or the huge-cache lock held (callers map
// outside their locks).
#pragma once

#include <cstddef>
#include <cstdint>

namespace heapkit::hkmalloc {

// Reserves and commits `size` bytes (a page multiple) aligned to `align`,
// zero-filled, recovering from a refusal as above; nullptr with errno = ENOMEM.
void* os_map(std::size_t size, std::size_t align) noexcept;
// As os_map, but PROT_NONE (address space only), for moving pages into.
void* os_reserve(std::size_t size, std::size_t align) noexcept;
// Grows or shrinks a mapping without moving it; false (mapping intact) when it
// cannot. No recovery: its callers have a fallback.
bool os_resize_in_place(void* p, std::size_t old_size, std::size_t new_size) noexcept;

// True when reserved address space itself costs: a finite RLIMIT_AS, or
// vm.overcommit_memory=2 (which charges MAP_NORESERVE mappings in full). Huge
// blocks then reserve only what they use (no 4 MiB units, no growth room).
bool os_address_space_tight() noexcept;

// Mappings the OS (or the test hook) refused, and refusals recovered by a
// reclaim and retry, since the start.
struct os_refusal_counts {
    std::uint64_t refused;
    std::uint64_t recovered;
};
os_refusal_counts os_refusals() noexcept;

#if defined(HEAPKIT_MALLOC_TESTING)
namespace testing {
// Called before every mapping request with its size; returning true makes the
// request fail as if the OS had refused it (ENOMEM). nullptr: no injection.
using map_fault_fn = bool (*)(std::size_t size);
void set_map_fault(map_fault_fn fn) noexcept;
}  // namespace testing
#endif

}  // namespace heapkit::hkmalloc
