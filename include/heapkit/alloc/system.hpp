// heapkit::system: the process's malloc family as a heapkit allocator, and
// heapkit::libc: glibc's own allocator reached through its __libc_* entry
// points, which keeps working when the program replaces malloc itself (as
// HEAPKIT_GLOBAL_ALLOCATOR_WITH_MALLOC does) and so cannot recurse into it.
//
// Both are stateless and keep no figures (wrap them in counting<> for that).
// Alignment: malloc's blocks are aligned to alignof(std::max_align_t) (16 on
// x86-64); larger alignments go through posix_memalign / memalign, so any
// power of two works. Zero-size requests get a real, unique minimum block.
#pragma once

#include <heapkit/allocator.hpp>

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <malloc.h>

extern "C" {
void* __libc_malloc(std::size_t) noexcept;
void* __libc_calloc(std::size_t, std::size_t) noexcept;
void* __libc_realloc(void*, std::size_t) noexcept;
void* __libc_memalign(std::size_t, std::size_t) noexcept;
void __libc_free(void*) noexcept;
}

namespace heapkit {
namespace detail {

// The malloc-family functions a malloc_based allocator calls.
struct process_malloc {
    static void* malloc(std::size_t n) noexcept { return std::malloc(n); }
    static void* calloc(std::size_t n) noexcept { return std::calloc(1, n); }
    static void* realloc(void* p, std::size_t n) noexcept { return std::realloc(p, n); }
    static void* memalign(std::size_t a, std::size_t n) noexcept {
        void* p = nullptr;
        return ::posix_memalign(&p, a, n) == 0 ? p : nullptr;
    }
    static void free(void* p) noexcept { std::free(p); }
    static std::size_t usable(void* p) noexcept { return ::malloc_usable_size(p); }
};

struct glibc_malloc {
    static void* malloc(std::size_t n) noexcept { return ::__libc_malloc(n); }
    static void* calloc(std::size_t n) noexcept { return ::__libc_calloc(1, n); }
    static void* realloc(void* p, std::size_t n) noexcept { return ::__libc_realloc(p, n); }
    static void* memalign(std::size_t a, std::size_t n) noexcept { return ::__libc_memalign(a, n); }
    static void free(void* p) noexcept { ::__libc_free(p); }
    // glibc's malloc_usable_size reads the chunk header of its own blocks only;
    // the replaced malloc_usable_size would not, so report the layout's size.
    static std::size_t usable(void*) noexcept { return 0; }
};

// An allocator over a malloc family M.
template <class M>
class malloc_based {
public:
    // The alignment malloc guarantees for every block.
    static constexpr std::size_t natural_align = alignof(std::max_align_t);

    constexpr malloc_based() noexcept = default;

    memory_block allocate(layout l) noexcept {
        void* p = l.align() <= natural_align ? M::malloc(l.size()) : M::memalign(l.align(), l.size());
        return p != nullptr ? memory_block{p, l.size()} : memory_block{};
    }

    memory_block allocate_zeroed(layout l) noexcept {
        if (l.align() <= natural_align) {
            void* p = M::calloc(l.size());
            return p != nullptr ? memory_block{p, l.size()} : memory_block{};
        }
        memory_block b = allocate(l);
        if (b) std::memset(b.ptr, 0, l.size());
        return b;
    }

    void deallocate(void* p, layout) noexcept { M::free(p); }

    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        return resize(p, old_layout, new_layout);
    }
    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        return resize(p, old_layout, new_layout);
    }

    std::size_t usable_size(const void* p, layout l) const noexcept {
        const std::size_t n = M::usable(const_cast<void*>(p));
        return n > l.size() ? n : l.size();
    }

private:
    memory_block resize(void* p, layout old_layout, layout new_layout) noexcept {
        // realloc keeps only malloc's natural alignment, and realloc(p, 0) frees p.
        if (new_layout.align() <= natural_align && old_layout.align() <= natural_align && new_layout.size() != 0) {
            void* q = M::realloc(p, new_layout.size());
            return q != nullptr ? memory_block{q, new_layout.size()} : memory_block{};
        }
        return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
    }
};

}  // namespace detail

// The malloc family of the process (whatever malloc is linked or preloaded).
class system : public detail::malloc_based<detail::process_malloc> {};

// glibc's allocator, even when the program replaces malloc.
class libc : public detail::malloc_based<detail::glibc_malloc> {};

static_assert(allocator<system> && has_grow<system> && has_allocate_zeroed<system>);
static_assert(allocator<libc>);

}  // namespace heapkit
