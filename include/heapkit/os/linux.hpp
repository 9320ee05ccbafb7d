// heapkit::os::linux_platform: the platform layer over Linux system calls.
// See platform.hpp for the model (reserve, commit, decommit, release).
//
// Sizes passed in are multiples of page_size() unless stated; addresses are
// page-aligned. Alignments above the page size are served by reserving
// size + align and trimming the ends, so any power-of-two alignment works.
#pragma once

#include <heapkit/os/platform.hpp>

#include <cstddef>

namespace heapkit::os {

struct linux_platform {
    // The base page size (sysconf(_SC_PAGESIZE)), read once.
    static std::size_t page_size() noexcept;
    // The transparent huge page size (from /sys/kernel/mm/transparent_hugepage/hpage_pmd_size),
    // 0 when the kernel has none.
    static std::size_t huge_page_size() noexcept;

    // Reserves `size` bytes of address space aligned to `align` (a power of
    // two; page alignment when smaller), not accessible until committed.
    static void* reserve(std::size_t size, std::size_t align) noexcept;
    // Makes a reserved range readable and writable.
    static bool commit(void* p, std::size_t size) noexcept;
    // Returns a committed range's memory to the OS and makes it inaccessible; it stays reserved.
    static bool decommit(void* p, std::size_t size) noexcept;
    // Returns a range of address space (committed or not) to the OS.
    static bool release(void* p, std::size_t size) noexcept;

    // Reserves and commits `size` bytes aligned to `align`, zero-filled.
    static void* map(std::size_t size, std::size_t align) noexcept;
    // Resizes a mapping made by map(), possibly moving it (mremap); page alignment only.
    // nullptr on failure, the old mapping intact.
    static void* remap(void* p, std::size_t old_size, std::size_t new_size) noexcept;
    // Linux only (not in the platform concept), for allocators that keep
    // their own alignment across a resize:
    // (Both fail under ThreadSanitizer, which does not intercept mremap: see linux.cpp.)
    // Grows or shrinks a mapping without moving it (mremap without MREMAP_MAYMOVE);
    // false when the address space behind it is taken, the mapping intact.
    static bool resize_in_place(void* p, std::size_t old_size, std::size_t new_size) noexcept;
    // Moves a mapping's pages (no copy, no page faults) to `target`, resizing
    // it to new_size (mremap with MREMAP_MAYMOVE | MREMAP_FIXED). Whatever was
    // mapped at [target, target + new_size) — typically a reserve()d range — is
    // replaced. false on failure, the old mapping intact.
    static bool move_to(void* p, std::size_t old_size, std::size_t new_size, void* target) noexcept;
    // Gives the pages back to the OS but keeps them accessible; they read as zero afterwards.
    static bool purge(void* p, std::size_t size) noexcept;
    // Asks for (or against) transparent huge pages over the range.
    static bool advise_huge(void* p, std::size_t size, bool enable) noexcept;

    // Resident set size of this process in bytes (from /proc/self/statm), 0 if unknown.
    static std::size_t resident_bytes() noexcept;
};

static_assert(platform<linux_platform>);

// The platform heapkit uses on this system.
using native = linux_platform;

}  // namespace heapkit::os
