// The platform layer: memory from the operating system, in pages.
//
// Address space and memory are separate steps, as in every serious allocator:
//
//   reserve ──► commit ──► (use) ──► decommit ──► commit ... ──► release
//   address     readable/              pages go back           address
//   space only  writable               to the OS, range        space
//   (PROT_NONE) memory                 stays reserved          returned
//
// `map` is reserve+commit in one call; `purge` gives pages back to the OS but
// leaves them accessible (they read as zero when touched again).
//
// The `platform` concept states what any platform provides; heapkit::os::linux
// is the implementation used on this system. It is the only code in heapkit
// that calls mmap, munmap, mprotect, mremap or madvise. Every function is
// noexcept and reports failure as a value (nullptr / false), with errno set.
#pragma once

#include <concepts>
#include <cstddef>

namespace heapkit::os {

template <class P>
concept platform = requires(void* p, std::size_t n, std::size_t a, bool b) {
    { P::page_size() } noexcept -> std::same_as<std::size_t>;
    { P::huge_page_size() } noexcept -> std::same_as<std::size_t>;
    { P::reserve(n, a) } noexcept -> std::same_as<void*>;
    { P::commit(p, n) } noexcept -> std::same_as<bool>;
    { P::decommit(p, n) } noexcept -> std::same_as<bool>;
    { P::release(p, n) } noexcept -> std::same_as<bool>;
    { P::map(n, a) } noexcept -> std::same_as<void*>;
    { P::remap(p, n, n) } noexcept -> std::same_as<void*>;
    { P::purge(p, n) } noexcept -> std::same_as<bool>;
    { P::advise_huge(p, n, b) } noexcept -> std::same_as<bool>;
};

}  // namespace heapkit::os
