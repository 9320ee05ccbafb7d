// heapkit::pages: whole pages straight from the OS, through the platform layer.
//
// Each non-empty block is its own mapping of size rounded up to the page size:
//
//   block: [ data ........ | rest of last page ]   one mmap, aligned to max(align, page)
//
// Complexity: one system call per operation. Memory is zero on arrival, so
// allocate_zeroed costs nothing extra; grow and shrink use mremap and munmap,
// never copy. Zero-size requests return heapkit::dangling(align) and map
// nothing. Figures are kept with relaxed atomics (the system call dominates).
//
// Invariants: live_ counts the requested sizes of live blocks (zero-size ones
// too);
// held_bytes_ the sum of their mapped (page-rounded) sizes.
#pragma once

#include <heapkit/allocator.hpp>
#include <heapkit/detail/live_counter.hpp>
#include <heapkit/os/linux.hpp>

#include <atomic>
#include <cstddef>

namespace heapkit {

template <os::platform Platform = os::native>
class basic_pages {
public:
    constexpr basic_pages() noexcept = default;
    basic_pages(const basic_pages&) = delete;  // figures belong to one object
    basic_pages& operator=(const basic_pages&) = delete;

    static std::size_t page_size() noexcept { return Platform::page_size(); }

    memory_block allocate(layout l) noexcept {
        if (l.size() == 0) {
            live_.allocated(0);
            return {dangling(l.align()), 0};
        }
        const std::size_t mapped = round_to_pages(l.size());
        if (mapped == 0) return {};
        void* p = Platform::map(mapped, l.align());
        if (p == nullptr) return {};
        live_.allocated(l.size());
        held_bytes_.fetch_add(mapped, std::memory_order_relaxed);
        return {p, mapped};
    }

    memory_block allocate_zeroed(layout l) noexcept { return allocate(l); }  // fresh mappings read as zero

    void deallocate(void* p, layout l) noexcept {
        live_.freed(l.size());
        if (l.size() == 0) return;
        const std::size_t mapped = round_to_pages(l.size());
        Platform::release(p, mapped);
        held_bytes_.fetch_sub(mapped, std::memory_order_relaxed);
    }

    memory_block grow(void* p, layout old_layout, layout new_layout) noexcept {
        if (old_layout.size() == 0 || new_layout.align() > old_layout.align() || old_layout.align() > page_size()) {
            return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
        }
        const std::size_t old_mapped = round_to_pages(old_layout.size());
        const std::size_t new_mapped = round_to_pages(new_layout.size());
        if (new_mapped == 0) return {};
        void* q = new_mapped == old_mapped ? p : Platform::remap(p, old_mapped, new_mapped);
        if (q == nullptr) return {};
        count_resize(old_layout.size(), old_mapped, new_layout.size(), new_mapped);
        return {q, new_mapped};
    }

    memory_block shrink(void* p, layout old_layout, layout new_layout) noexcept {
        if (new_layout.size() == 0 || new_layout.align() > old_layout.align()) {
            return detail::reallocate_by_copy(*this, p, old_layout, new_layout);
        }
        const std::size_t old_mapped = round_to_pages(old_layout.size());
        const std::size_t new_mapped = round_to_pages(new_layout.size());
        if (new_mapped < old_mapped) Platform::release(static_cast<char*>(p) + new_mapped, old_mapped - new_mapped);
        count_resize(old_layout.size(), old_mapped, new_layout.size(), new_mapped);
        return {p, new_mapped};
    }

    std::size_t usable_size(const void*, layout l) const noexcept { return l.size() == 0 ? 0 : round_to_pages(l.size()); }

    allocator_stats stats() const noexcept {
        allocator_stats s;
        live_.fill(s);
        s.held_bytes = held_bytes_.load(std::memory_order_relaxed);
        s.slack_bytes = s.held_bytes > s.live_bytes ? s.held_bytes - s.live_bytes : 0;
        return s;
    }

private:
    // Size rounded up to whole pages; 0 on overflow.
    static std::size_t round_to_pages(std::size_t n) noexcept {
        const std::size_t page = page_size();
        return n > SIZE_MAX - page ? 0 : align_up(n, page);
    }

    void count_resize(std::size_t old_bytes, std::size_t old_mapped, std::size_t new_bytes,
                      std::size_t new_mapped) noexcept {
        live_.resized(old_bytes, new_bytes);
        held_bytes_.fetch_add(new_mapped - old_mapped, std::memory_order_relaxed);  // wraps to a subtraction
    }

    detail::live_counter live_;               // requested sizes of live blocks, zero-size ones included
    std::atomic<std::size_t> held_bytes_{0};  // sum of mapped sizes of live blocks
};

using pages = basic_pages<>;

static_assert(allocator<pages> && has_grow<pages> && has_shrink<pages> && has_stats<pages>);

}  // namespace heapkit
