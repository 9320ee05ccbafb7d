// malloc: the C entry points of heapkit malloc (hk_*) and the C++ gp helpers.
// Each is a thin layer over heap.hpp's fast paths; aligned requests above 16
// bytes are served by over-allocating a class block (size + align - 16) and
// returning the aligned address inside it — the page is flagged so free()
// finds the block start by division — or, when that exceeds the largest
// class, by a huge mapping aligned as asked.
#include <heapkit/malloc.hpp>

#include "heap.hpp"
#include "large.hpp"
#include "options.hpp"
#include "report.hpp"

#include <cerrno>
#include <cstring>

#define HK_EXPORT extern "C" __attribute__((visibility("default")))

namespace heapkit::hkmalloc {
namespace {

void* aligned_slow(std::size_t align, std::size_t size) noexcept {
    if (size == 0) size = 1;  // so the aligned address lies inside the block, not at its end
    if (size <= max_class_size && align <= max_class_size && size + align - 16 <= max_class_size) {
        void* b = heap_malloc(size + align - 16);
        if (b == nullptr) return nullptr;
        const std::uintptr_t a = heapkit::align_up(reinterpret_cast<std::uintptr_t>(b), align);
        if (a != reinterpret_cast<std::uintptr_t>(b)) heap_mark_aligned(b);
        return reinterpret_cast<void*>(a);
    }
    return heap_huge_alloc(size, align);
}

inline void* aligned(std::size_t align, std::size_t size) noexcept {
    if (align <= 16) return heap_malloc(size);
    return aligned_slow(align, size);
}

// True when the block of p was mapped just now for this request (reads as zero).
bool is_huge(const void* p) noexcept {
    segment* seg = segment_of(p);
    return seg != nullptr && seg->kind == page_kind::huge;
}

void* zalloc(std::size_t align, std::size_t size) noexcept {
    void* p = aligned(align, size);
    if (p != nullptr && !is_huge(p)) std::memset(p, 0, size);
    return p;
}

// Resizes p to size bytes aligned to align; the block stays when it fits and is at most half empty.
void* reallocate(void* p, std::size_t size, std::size_t align, const char* op) noexcept {
    const std::size_t usable = heap_usable_size(p, op);
    if (size <= usable && size >= usable / 2 && heapkit::is_aligned(p, align)) return p;
    void* q = aligned(align, size);
    if (q == nullptr) return nullptr;
    std::memcpy(q, p, size < usable ? size : usable);
    heap_free(p);
    return q;
}

}  // namespace
}  // namespace heapkit::hkmalloc

using namespace heapkit::hkmalloc;

HK_EXPORT void* hk_malloc(std::size_t size) noexcept { return heap_malloc(size); }

HK_EXPORT void hk_free(void* p) noexcept { heap_free(p); }

HK_EXPORT void* hk_calloc(std::size_t count, std::size_t size) noexcept {
    std::size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return nullptr;
    }
    return zalloc(16, total);
}

HK_EXPORT void* hk_realloc(void* p, std::size_t size) noexcept {
    if (p == nullptr) return heap_malloc(size);
    if (size == 0) {
        heap_free(p);
        return nullptr;
    }
    return reallocate(p, size, 16, "realloc()");
}

HK_EXPORT void* hk_aligned_alloc(std::size_t align, std::size_t size) noexcept {
    if (!heapkit::is_power_of_two(align)) {
        errno = EINVAL;
        return nullptr;
    }
    return aligned(align, size);
}

HK_EXPORT void* hk_aligned_zalloc(std::size_t align, std::size_t size) noexcept {
    if (!heapkit::is_power_of_two(align)) {
        errno = EINVAL;
        return nullptr;
    }
    return zalloc(align, size);
}

HK_EXPORT void* hk_realloc_aligned(void* p, std::size_t size, std::size_t align) noexcept {
    if (!heapkit::is_power_of_two(align)) {
        errno = EINVAL;
        return nullptr;
    }
    if (p == nullptr) return aligned(align, size);
    return reallocate(p, size, align, "realloc()");
}

HK_EXPORT std::size_t hk_usable_size(const void* p) noexcept {
    return p == nullptr ? 0 : heap_usable_size(p, "malloc_usable_size()");
}

HK_EXPORT void hk_free_sized(void* p, std::size_t) noexcept { heap_free(p); }

HK_EXPORT void hk_free_aligned_sized(void* p, std::size_t, std::size_t) noexcept { heap_free(p); }

HK_EXPORT int hk_trim(void) noexcept { return heap_trim(tls_heap) ? 1 : 0; }

HK_EXPORT bool hk_owns(const void* p) noexcept {
    segment* seg = segment_of(p);
    if (seg == nullptr) return false;
    if (seg->kind == page_kind::huge) {
        const char* b = seg->huge_block;
        return static_cast<const char*>(p) >= b && static_cast<const char*>(p) < b + huge_usable(seg, b);
    }
    return (page_of(seg, p)->flags.load(std::memory_order_relaxed) & page_unused) == 0;
}

namespace heapkit {

void gp::count(bool alloc, std::size_t size) noexcept { hkmalloc::count_gp(alloc, size); }

malloc_options current_malloc_options() noexcept {
    hkmalloc::global_init();
    const hkmalloc::options& o = hkmalloc::get_options();
    return {o.verbose, o.stats, o.huge_pages, o.purge_delay_ms};
}

}  // namespace heapkit
