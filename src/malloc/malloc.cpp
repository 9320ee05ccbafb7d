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
        if (a != reinterpret_cast<std::uintptr_t>(b)) {
            if (segment_of(b)->kind == page_kind::huge) {
                // out of memory, the class request was served by a mapping of its own
                // (heap_malloc_refused), which cannot hand out an inner pointer: map one aligned
                heap_free(b);
                return heap_huge_alloc(size, align);
            }
            heap_mark_aligned(b);
        }
        return reinterpret_cast<void*>(a);
    }
    return heap_huge_alloc(size, align);
}

inline void* aligned(std::size_t align, std::size_t size) noexcept {
    if (align <= 16) return heap_malloc(size);
    return aligned_slow(align, size);
}

void* zalloc(std::size_t align, std::size_t size) noexcept {
    if (align <= 16 && size <= max_class_size) {  // a class block: no lookup to tell it from a huge one
        void* p = heap_malloc(size);
        if (p != nullptr) std::memset(p, 0, size);
        return p;
    }
    void* p = aligned(align, size);
    if (p == nullptr) return p;
    segment* seg = segment_of(p);
    if (seg->kind == page_kind::huge) {
        huge_zero(seg, p, size);  // only what a cached mapping may hold (fresh pages read as zero)
    } else {
        std::memset(p, 0, size);
    }
    return p;
}

// Resizes a huge block that stays huge without copying (large.hpp), counting
// the change of its usable size; nullptr when it cannot.
void* resize_huge(segment* seg, void* p, std::size_t size, std::size_t usable) noexcept {
    heap* h = heap_get_or_init();
    if (h == nullptr) return nullptr;
    void* q = huge_resize(seg, p, size);
    if (q == nullptr) return nullptr;
    const std::size_t now = huge_usable(segment_of(q), q);
    if (now > usable) {
        bump(h->counters.alloc_bytes, now - usable);
    } else {
        bump(h->counters.free_bytes, usable - now);
    }
    return q;
}

// A block that realloc grows past this becomes a huge block (large.hpp) even
// below max_class_size: it is likely to grow again, and a huge block grows in
// place (no copy, no page faults for what it already holds), where the large
// classes would copy it at every 12.5 % step and leave a trail of freed blocks
// in one 4 MiB page per class (bench realloc-growth: peak RSS 68 -> 49 MiB). As glibc's mmap threshold, 128 KiB..
inline constexpr std::size_t realloc_huge_threshold = medium_max;

// A class block of at least growth_headroom_min bytes that realloc moves to
// grow gets at least usable + usable / growth_headroom bytes. Not below: the
// small blocks programs grow by small exact steps are often containers that
// stop at a fixed size (redis's 8 KiB listpacks: headroom there cost redis
// 12 MiB, 18 %, of peak RSS in the benchmark).
inline constexpr std::size_t growth_headroom = 2;
inline constexpr std::size_t growth_headroom_min = 16 * 1024;

// Resizes p to size bytes aligned to align. The block stays when it fits and
// is at most half empty (so a class block is kept for growth within its class
// and moderate shrinking); a huge block that stays huge is resized in place
// or its pages are moved (no copy); a block growing past
// realloc_huge_threshold moves to a huge block; otherwise a new block, copy, free.
void* reallocate(void* p, std::size_t size, std::size_t align, const char* op) noexcept {
    const std::size_t usable = heap_usable_size(p, op);
    const bool keeps_alignment = heapkit::is_aligned(p, align);
    if (size <= usable && size >= usable / 2 && keeps_alignment) return p;
    const bool to_huge = size > max_class_size || (size > usable && size > realloc_huge_threshold);
    void* q = nullptr;
    if (to_huge && keeps_alignment) {
        segment* seg = segment_of(p);
        if (seg->kind == page_kind::huge) q = resize_huge(seg, p, size, usable);
        if (q != nullptr) return q;
    }
    // Growing a class block: leave room for the next few steps (growth_headroom),
    // so a buffer grown a little at a time is copied O(log n) times, not at every class.
    std::size_t want = size;
    if (!to_huge && size > usable && usable >= growth_headroom_min) {
        const std::size_t grown = usable + usable / growth_headroom;
        if (grown > want) want = grown < realloc_huge_threshold ? grown : realloc_huge_threshold;
    }
    q = to_huge ? heap_huge_alloc(size, align < 16 ? 16 : align) : aligned(align, want);
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
